import { Refused_Code, type Refused } from "../gen/quire/v1/hello.js";
import { QuireError } from "../errors.js";

export abstract class ClientError extends QuireError {}

/** Errnos that mean nothing serves the socket: no socket file, a stale one, a listener going away. */
const NOBODY_LISTENING = new Set(["ENOENT", "ECONNREFUSED", "ECONNRESET"]);

/**
 * Any failure to reach the daemon's socket. `errno` is the system's code when there is one (EACCES,
 * EAGAIN, ...), `cause` the original error; the message says what to do about it.
 */
export class DaemonUnreachableError extends ClientError {
  readonly errno: string | undefined;

  constructor(
    readonly socket: string,
    cause?: unknown,
  ) {
    const errno = errnoOf(cause);
    super("QUIRE_ERR_DAEMON_UNREACHABLE", unreachableMessage(socket, errno, cause), { cause });
    this.errno = errno;
  }

  /** Nothing serves the socket (as opposed to one we may not or cannot use): starting quired would help. */
  get nobodyListening(): boolean {
    return this.errno === undefined ? !(this.cause instanceof TimeoutError) : NOBODY_LISTENING.has(this.errno);
  }
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

function unreachableMessage(socket: string, errno: string | undefined, cause: unknown): string {
  const home = "or use a QUIRE_HOME you can reach (--home DIR)";
  switch (errno ?? (cause instanceof TimeoutError ? "ETIMEDOUT" : undefined)) {
    case undefined:
    case "ENOENT":
    case "ECONNREFUSED":
    case "ECONNRESET":
      return `no quired answers on ${socket}: start it with \`quirectl daemon start\`${process.env.QUIRE_NO_AUTOSTART === "1" ? " (autostart is off: QUIRE_NO_AUTOSTART=1)" : ""}`;
    case "EACCES":
    case "EPERM":
      return `you may not use quired's socket ${socket} (${errno}): run quirectl as the user who owns it, ${home}`;
    case "ENOTDIR":
      return `quired's socket ${socket} cannot exist: part of its directory path is a file, not a directory (ENOTDIR); fix the path, ${home}`;
    case "ENOTSOCK":
      return `${socket} is not a socket (ENOTSOCK): something else is at quired's socket path; move it away, ${home}`;
    case "ELOOP":
      return `quired's socket path ${socket} loops through symbolic links (ELOOP); fix the links, ${home}`;
    case "ENAMETOOLONG":
      return `quired's socket path ${socket} is too long for this system (ENAMETOOLONG); choose a shorter QUIRE_HOME (--home DIR)`;
    case "EAGAIN":
    case "EWOULDBLOCK":
      return `quired on ${socket} has more connections waiting than it accepts (its listen backlog is full, ${errno}); retry in a moment, and if it persists check it with \`quirectl daemon status\``;
    case "ETIMEDOUT":
      return `quired on ${socket} did not accept the connection in time (ETIMEDOUT); it may be overloaded or stuck: retry, or restart it with \`quirectl daemon restart\``;
    default:
      return `cannot reach quired on ${socket} (${errno}: ${cause instanceof Error ? cause.message : String(cause)}); check it with \`quirectl daemon status\`, ${home}`;
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
  /** The peer's Refused code when it closed the connection with an unsolicited Refused; undefined otherwise. */
  readonly refusedCode: Refused_Code | undefined;

  constructor(reason: string, cause?: unknown, refusedCode?: Refused_Code) {
    super("QUIRE_ERR_CONNECTION_CLOSED", `connection closed: ${reason}`, { cause });
    this.refusedCode = refusedCode;
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

/** A request whose AbortSignal fired with no reason of its own (one with a reason rejects with that reason). */
export class AbortedError extends ClientError {
  constructor(what: string) {
    super("QUIRE_ERR_ABORTED", `${what} was aborted by its signal`);
  }
}

/**
 * A submit went out and its answer never came back (the connection was lost and the ci service could not be
 * reached again to ask in time): the run may or may not have been recorded. Submitting again with the same
 * `idempotencyKey` is safe, and is answered with the run if there is one.
 */
export class SubmitUnconfirmedError extends ClientError {
  constructor(
    readonly idempotencyKey: string,
    cause: unknown,
  ) {
    super(
      "QUIRE_ERR_CI_SUBMIT_UNCONFIRMED",
      `the run may or may not have been recorded: the submit went out, its answer was lost, and the ci service could not be asked again (${(cause as Error)?.message ?? cause}); \`quirectl runs\` shows it if it was, and submitting again with idempotency key ${idempotencyKey} is answered with that run rather than a second one`,
      { cause },
    );
  }
}
