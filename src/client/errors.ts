import { Refused_Code, type Refused } from "../gen/quire/v1/hello.js";
import { QuireError } from "../wire/errors.js";

export class ClientError extends QuireError {}

export class DaemonUnreachableError extends ClientError {
  constructor(readonly socket: string, cause?: unknown) {
    super(
      "QUIRE_ERR_DAEMON_UNREACHABLE",
      `no quired answers on ${socket}: start it with \`quirectl daemon start\`${process.env.QUIRE_NO_AUTOSTART === "1" ? " (autostart is off: QUIRE_NO_AUTOSTART=1)" : ""}`,
      { cause },
    );
  }
}

export class DaemonStartError extends ClientError {
  constructor(detail: string) {
    super("QUIRE_ERR_DAEMON_START", `quired did not start: ${detail}`);
  }
}

/** The daemon or a backend said no; `refusal` carries the wire answer. */
export class RefusedError extends ClientError {
  constructor(readonly refusal: Refused) {
    super("QUIRE_ERR_REFUSED", `refused (${Refused_Code[refusal.code] ?? refusal.code}): ${refusal.reason}`);
  }

  get refusedCode(): Refused_Code {
    return this.refusal.code;
  }
}

export class ConnectionClosedError extends ClientError {
  constructor(reason: string, cause?: unknown) {
    super("QUIRE_ERR_CONNECTION_CLOSED", `connection closed: ${reason}`, { cause });
  }
}

export class TimeoutError extends ClientError {
  constructor(what: string, ms: number) {
    super("QUIRE_ERR_TIMEOUT", `${what} took longer than ${ms} ms`);
  }
}

export class HandshakeError extends ClientError {
  constructor(detail: string) {
    super("QUIRE_ERR_HANDSHAKE", `handshake failed: ${detail}; is this a quire socket of a matching version?`);
  }
}
