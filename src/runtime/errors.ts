import { QuireError } from "../errors.js";

export abstract class RuntimeError extends QuireError {}

export class InvalidOptionError extends RuntimeError {
  constructor(
    readonly option: string,
    readonly value: unknown,
    expected: string,
  ) {
    super("QUIRE_ERR_INVALID_OPTION", `option ${option} is ${JSON.stringify(value)}; expected ${expected}`);
  }
}

export class CommandNotFoundError extends RuntimeError {
  constructor(
    readonly file: string,
    searched: string,
  ) {
    super(
      "QUIRE_ERR_COMMAND_NOT_FOUND",
      `command not found: ${file} (searched ${searched || "an empty PATH"}); check the name or give a full path`,
    );
  }
}

export class SpawnError extends RuntimeError {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super("QUIRE_ERR_SPAWN", `could not start ${file}: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

export class ExpectTimeoutError extends RuntimeError {
  constructor(
    readonly pattern: string,
    readonly timeoutMs: number,
    readonly recent: string,
  ) {
    super(
      "QUIRE_ERR_EXPECT_TIMEOUT",
      `no output matched ${pattern} within ${timeoutMs} ms; the last output was: ${JSON.stringify(recent.slice(-200))}`,
    );
  }
}

export class ExpectEndedError extends RuntimeError {
  constructor(
    readonly pattern: string,
    readonly recent: string,
  ) {
    super(
      "QUIRE_ERR_EXPECT_ENDED",
      `the process ended before its output matched ${pattern}; the last output was: ${JSON.stringify(recent.slice(-200))}`,
    );
  }
}

export class ProcessEndedError extends RuntimeError {
  constructor(what: string) {
    super("QUIRE_ERR_PROCESS_ENDED", `cannot ${what}: the process has ended`);
  }
}
