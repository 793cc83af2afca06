import { QuireError } from "../errors.js";

export abstract class BrokerError extends QuireError {}

export class DaemonRunningError extends BrokerError {
  /** `pid`: the quired that holds the socket, where it said so. */
  constructor(
    readonly socket: string,
    readonly pid?: number,
  ) {
    super(
      "QUIRE_ERR_DAEMON_RUNNING",
      `a quired${pid ? ` (pid ${pid})` : ""} is already running on ${socket}; stop it first (quirectl daemon stop) or use another QUIRE_HOME`,
    );
  }
}

export class SocketDirInsecureError extends BrokerError {
  constructor(
    readonly dir: string,
    problem: string,
    fix: string,
  ) {
    super("QUIRE_ERR_SOCKET_DIR_INSECURE", `socket directory ${dir} ${problem}; ${fix}`);
  }
}

export class RootRefusedError extends BrokerError {
  /** `command`: the exact command line that would start it, where known. */
  constructor(command?: string) {
    super(
      "QUIRE_ERR_RUNNING_AS_ROOT",
      `quired refuses to run as root: run it as your own user, or if you mean it, ${command ? `run ${command}` : "pass --allow-root"} (or set QUIRE_ALLOW_ROOT=1)`,
    );
  }
}

export class SocketPathTooLongError extends BrokerError {
  constructor(
    readonly path: string,
    readonly limit: number,
  ) {
    super(
      "QUIRE_ERR_SOCKET_PATH_TOO_LONG",
      `socket path ${path} is ${Buffer.byteLength(path)} bytes, over this system's ${limit}-byte limit; choose a shorter QUIRE_HOME`,
    );
  }
}

export class SocketPathOccupiedError extends BrokerError {
  constructor(
    readonly path: string,
    readonly kind: string,
  ) {
    super(
      "QUIRE_ERR_SOCKET_PATH_OCCUPIED",
      `${path} is ${kind}, not a socket, so quired will not replace it: move it away, or choose another QUIRE_HOME`,
    );
  }
}

export class BackendUnavailableError extends BrokerError {
  constructor(
    readonly service: string,
    reason: string,
    readonly retryAfterMs: number,
  ) {
    super("QUIRE_ERR_BACKEND_UNAVAILABLE", `the ${service} backend is unavailable: ${reason}`);
  }
}

export class SocketActivationError extends BrokerError {
  constructor(problem: string) {
    super("QUIRE_ERR_SOCKET_ACTIVATION", `the socket systemd handed to quired cannot be used: ${problem}`);
  }
}

/** The backend exited, or its channel closed, before it answered the broker (an ACK, metrics, an idle question). */
export class BackendNotRunningError extends BrokerError {
  constructor(
    readonly service: string,
    why: string,
  ) {
    super(
      "QUIRE_ERR_BACKEND_NOT_RUNNING",
      `the ${service} backend is not running (${why}); quired.log says why, and quired respawns a backend that crashed`,
    );
  }
}

/** The backend did not answer the broker in time. */
export class BackendTimeoutError extends BrokerError {
  constructor(
    readonly service: string,
    readonly what: string,
    readonly timeoutMs: number,
  ) {
    super("QUIRE_ERR_BACKEND_TIMEOUT", `the ${service} backend did not send its ${what} within ${timeoutMs} ms`);
  }
}

/** A client's socket closed before the broker could hand it to a backend: the client went away. */
export class HandoffSocketClosedError extends BrokerError {
  constructor(readonly service: string) {
    super(
      "QUIRE_ERR_HANDOFF_SOCKET_CLOSED",
      `the client's socket closed before the handoff to the ${service} backend; the client has gone`,
    );
  }
}
