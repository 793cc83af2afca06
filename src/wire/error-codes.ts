// Error codes that cross the wire inside a service's answers (PtyResponse.error_code, ...): the service
// that sets them and the client that raises them share these constants. Each is a code of the table in
// src/errors.ts (the compiler refuses any other string), where what it means and what to do are written.
import type { ErrorCode } from "../errors.js";

/** The pty service's codes, raised in the client as PtyRequestError with this `code`. */
export const PtyErrorCode = {
  /** Any other failure of a pty request (the service threw something without a code). */
  FAILED: "QUIRE_ERR_PTY",
  NO_SESSION: "QUIRE_ERR_PTY_NO_SESSION",
  INVALID_NAME: "QUIRE_ERR_PTY_INVALID_NAME",
  NAME_TAKEN: "QUIRE_ERR_PTY_NAME_TAKEN",
  NO_COMMAND: "QUIRE_ERR_PTY_NO_COMMAND",
  EXITED: "QUIRE_ERR_PTY_EXITED",
  NOT_WRITER: "QUIRE_ERR_PTY_NOT_WRITER",
  UNKNOWN_OP: "QUIRE_ERR_PTY_UNKNOWN_OP",
} as const satisfies Record<string, ErrorCode>;

export type PtyErrorCode = (typeof PtyErrorCode)[keyof typeof PtyErrorCode];

/**
 * The ci service's codes, raised in the client as CiRequestError with this `code`. The CI layer's own
 * errors (src/ci) carry the same strings; these are the ones a client is expected to match on.
 */
export const CiErrorCode = {
  /** Any other failure of a ci request. */
  FAILED: "QUIRE_ERR_CI",
  /** A pipeline file that cannot be used; the response's `position` says where. */
  PIPELINE_INVALID: "QUIRE_ERR_PIPELINE_INVALID",
  RUN_NOT_FOUND: "QUIRE_ERR_RUN_NOT_FOUND",
  /** annotate with a token that names no live run. */
  RUN_TOKEN: "QUIRE_ERR_RUN_TOKEN",
  SECRET_MISSING: "QUIRE_ERR_SECRET_MISSING",
  SECRET_NAME: "QUIRE_ERR_SECRET_NAME",
  /** Too short to redact, or too long for a step's environment. */
  SECRET_VALUE: "QUIRE_ERR_SECRET_VALUE",
  /** The tree could not be snapshotted or checked out (git's message is in the error). */
  WORKSPACE: "QUIRE_ERR_WORKSPACE",
  SHUTTING_DOWN: "QUIRE_ERR_CI_SHUTTING_DOWN",
  /** rerun of a run that has not ended. */
  RERUN_LIVE: "QUIRE_ERR_RERUN_LIVE",
  /** rerun --failed of a run with nothing failed. */
  RERUN_NOTHING_FAILED: "QUIRE_ERR_RERUN_NOTHING_FAILED",
  /** rerun of a run whose tree quire never kept (a plain directory's), or whose trees are gone. */
  RERUN_NO_TREE: "QUIRE_ERR_RERUN_NO_TREE",
  RERUN_TREE_GONE: "QUIRE_ERR_RERUN_TREE_GONE",
  /** A submit whose deadline (its frame's deadline_unix_ms) passed before the run was recorded: nothing was, nor will be. */
  NOT_RECORDED: "QUIRE_ERR_CI_NOT_RECORDED",
  BAD_REQUEST: "QUIRE_ERR_CI_BAD_REQUEST",
  /** A fault in the ci backend itself; quired.log has the details. */
  INTERNAL: "QUIRE_ERR_CI_INTERNAL",
} as const satisfies Record<string, ErrorCode>;

export type CiErrorCode = (typeof CiErrorCode)[keyof typeof CiErrorCode];

/** The web service's codes, raised in the client as WebRequestError with this `code`. */
export const WebErrorCode = {
  /** Any other failure of a web request. */
  FAILED: "QUIRE_ERR_WEB",
  PORT_UNAVAILABLE: "QUIRE_ERR_WEB_PORT_UNAVAILABLE",
  PORT_MISMATCH: "QUIRE_ERR_WEB_PORT_MISMATCH",
  BAD_REQUEST: "QUIRE_ERR_WEB_BAD_REQUEST",
} as const satisfies Record<string, ErrorCode>;

export type WebErrorCode = (typeof WebErrorCode)[keyof typeof WebErrorCode];
