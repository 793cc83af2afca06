// Error codes that cross the wire inside a service's answers (PtyResponse.error_code, ...): the service
// that sets them and the client that raises them share these constants. Codes, once published, keep
// their meaning and are never reused; test/error-codes.test.ts pins the list.

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
} as const;

export type PtyErrorCode = (typeof PtyErrorCode)[keyof typeof PtyErrorCode];
