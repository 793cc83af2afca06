// Failures of the CI output layer: step logs and the secret key. Match on `code`.
import { QuireError } from "../../errors.js";

export abstract class OutputError extends QuireError {}

/** A step log could not be opened, written or read. */
export class LogFileError extends OutputError {
  constructor(
    readonly path: string,
    readonly operation: string,
    cause: unknown,
  ) {
    super(
      "QUIRE_ERR_LOG_FILE",
      `could not ${operation} log file ${path}: ${(cause as Error)?.message ?? cause}; check that the disk is not full and quire's home is writable`,
      { cause },
    );
  }
}

/** StepLog.write after close(): the caller's bug, not the disk's. */
export class LogClosedError extends OutputError {
  constructor(readonly path: string) {
    super("QUIRE_ERR_LOG_CLOSED", `log file ${path} was written after it was closed; write every chunk before close()`);
  }
}

/** The secret key file is unsafe or damaged; `fix` says what to do about it. */
export class SecretKeyError extends OutputError {
  constructor(
    readonly path: string,
    problem: string,
    readonly fix: string,
    cause?: unknown,
  ) {
    super("QUIRE_ERR_SECRET_KEY", `secret key file ${path} ${problem}; ${fix}`, { cause });
  }
}

/** A stored secret does not open with this key: another key, or damaged bytes. */
export class SecretDecryptError extends OutputError {
  constructor(readonly keyFile: string) {
    super(
      "QUIRE_ERR_SECRET_DECRYPT",
      `a stored secret does not open with the key in ${keyFile} (it was sealed with another key or is damaged); set the secret again`,
    );
  }
}
