import { QuireError } from "../errors.js";
import { CiErrorCode, PtyErrorCode } from "../wire/error-codes.js";

export abstract class BackendError extends QuireError {}

export class UnknownServiceError extends BackendError {
  constructor(
    readonly service: string,
    known: readonly string[],
  ) {
    super("QUIRE_ERR_SERVICE_UNKNOWN", `no service named "${service}"; known services: ${known.join(", ")}`);
  }
}

/** A pty request the service refuses; its code (one of PtyErrorCode) goes to the client in the answer. */
export abstract class PtyError extends BackendError {}

export class PtyNoSessionError extends PtyError {
  constructor(readonly session: string) {
    super(PtyErrorCode.NO_SESSION, `no session named "${session}"; quirectl ps lists them`);
  }
}

export class PtyInvalidNameError extends PtyError {
  constructor(readonly session: string) {
    super(
      PtyErrorCode.INVALID_NAME,
      `session name ${JSON.stringify(session)} is not valid: use a-z, 0-9, '.', '_' and '-', starting with a letter or digit`,
    );
  }
}

export class PtyNameTakenError extends PtyError {
  constructor(readonly session: string) {
    super(PtyErrorCode.NAME_TAKEN, `a session named "${session}" is running; kill it first or pick another name`);
  }
}

export class PtyNoCommandError extends PtyError {
  constructor() {
    super(PtyErrorCode.NO_COMMAND, "no command given: quirectl start NAME -- COMMAND [ARGS...]");
  }
}

/** `hint`: what the client can still do with the session (attach can say: tail it). */
export class PtyExitedError extends PtyError {
  constructor(
    readonly session: string,
    hint?: string,
  ) {
    super(PtyErrorCode.EXITED, `"${session}" has exited${hint ? `; ${hint}` : ""}`);
  }
}

export class PtyNotWriterError extends PtyError {
  constructor(readonly session: string) {
    super(PtyErrorCode.NOT_WRITER, `another client is the writer of "${session}"; attach with --takeover to become it`);
  }
}

export class PtyUnknownOpError extends PtyError {
  constructor() {
    super(PtyErrorCode.UNKNOWN_OP, "the request names no operation this service knows; upgrade quirectl or quired");
  }
}

/** A ci request that does not decode as a CiRequest. */
export class CiBadRequestError extends BackendError {
  constructor(problem: string, cause?: unknown) {
    super(CiErrorCode.BAD_REQUEST, `payload is not a valid CiRequest: ${problem}`, { cause });
  }
}
