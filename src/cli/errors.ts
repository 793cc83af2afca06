// quirectl's own failures (the client's and the broker's have theirs).
import { QuireError } from "../errors.js";

export abstract class CliError extends QuireError {}

export class LoginUnsupportedError extends CliError {
  constructor(readonly platform: string) {
    super("QUIRE_ERR_LOGIN_UNSUPPORTED", `starting quired at login is supported on Linux (systemd), macOS (launchd) and Windows (a logon task), not on ${platform}`);
  }
}

export class LoginValueError extends CliError {
  constructor(readonly value: string, problem: string) {
    super("QUIRE_ERR_LOGIN_VALUE", `${JSON.stringify(value)} ${problem}; choose a home or PATH without it`);
  }
}

export class LoginCommandError extends CliError {
  constructor(readonly argv: readonly string[], problem: string, hint: string) {
    super("QUIRE_ERR_LOGIN_COMMAND", `${argv.join(" ")} failed: ${problem}; ${hint}`);
  }
}
