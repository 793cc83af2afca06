// A client's connection to a service's backend, after the handshake: requests matched to responses by
// request_id, pushed events, cancel and close. A handed-off connection is usable from Negotiated on; until
// the backend's ready event it keeps what it sent, to send again on another link if the handoff fails.
import { EventEmitter } from "node:events";
import { type Frame, Frame_Kind } from "../gen/quire/v1/frame.js";
import { HandoffAck } from "../gen/quire/v1/handoff.js";
import type { Negotiated } from "../gen/quire/v1/hello.js";
import { newFrame } from "../wire/framing.js";
import { Lane } from "../wire/lanes.js";
import { AbortedError, ClientError, ConnectionClosedError, HandshakeError, TimeoutError } from "./errors.js";
import type { FramedSocket } from "./framed.js";

export type ConnectionPath = "handoff" | "reconnect";

/** A way to the backend: the socket, how it was reached, and the Negotiated that opened it. */
export interface Link {
  framed: FramedSocket;
  path: ConnectionPath;
  negotiated: Negotiated;
}

/** What a connection handed off at Negotiated needs until the backend's ready event settles it. */
export interface PendingHandoff {
  /** How long to wait for the ready event before taking another link. */
  readyTimeoutMs: number;
  /** How long the fallback may take to learn where what was sent stands, the reconnect included. */
  fallbackTimeoutMs: number;
  /**
   * The reconnect with the handoff's token. Once it has succeeded the token is used up, so no backend can
   * ever adopt the handed-off connection and run what was sent on it.
   */
  reconnect(why: Error): Promise<Link>;
  /** A fresh start with the broker, without handoff: only for when nobody can ever read the handed-off connection. */
  startOver(why: Error): Promise<Link>;
  /** Called once, when the path is known for good. */
  settled(path: ConnectionPath): void;
}

/** A handed-off connection until it settles: the frames sent so far, to send again on another link. */
interface Unsettled extends PendingHandoff {
  sent: Frame[];
  timer: NodeJS.Timeout;
  /** Set once the handoff is given up on; frames are then kept, not written, until a link is chosen. */
  fallback: Fallback | undefined;
}

/**
 * Finding another link. The handed-off connection is still read meanwhile: its ready event, late, settles
 * the connection on it after all, and its close by the far end proves that nobody will ever read what
 * was sent on it (a backend writes the ready event before it reads anything).
 */
interface Fallback {
  why: Error;
  /** How many of `sent` went out on the handed-off connection. */
  written: number;
  handedOff: "open" | "closed by peer" | "given up";
  /** Why the reconnect failed, once it has. */
  reconnectFailed: Error | undefined;
  startingOver: boolean;
  timer: NodeJS.Timeout;
}

export interface RequestOptions {
  /** Give up (and send CANCEL) after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Sent with the request (the frame's deadline_unix_ms, ms since the epoch): when the service may stop working on it. */
  deadlineUnixMs?: number;
}

/** A request waiting for its response; the timer and abort listener exist only when asked for. */
interface Pending {
  resolve(payload: Buffer): void;
  reject(error: Error): void;
  timer?: NodeJS.Timeout;
  signal?: AbortSignal;
  onAbort?: () => void;
}

const REQUEST = newFrame({ kind: Frame_Kind.REQUEST });

function cleanup(pending: Pending): void {
  if (pending.timer !== undefined) clearTimeout(pending.timer);
  if (pending.onAbort !== undefined) pending.signal!.removeEventListener("abort", pending.onAbort);
}

/**
 * Events: `event` (Frame) for data the service pushes; `close` (Error) once, when the connection ends.
 *
 * A handed-off connection takes requests at once, before the backend's ready event. Should the handoff
 * fail, they are sent again, in order, on the reconnect link, but only where they cannot have run: the
 * backend reads nothing before it writes the ready event, so a connection the far end closed before that
 * event carried no request to anyone, and a reconnect that consumed the token proves the backend can never
 * adopt the old connection (the token is good once). While the reconnect is tried the old connection is
 * still read, so a late ready event settles on it, and its close (a stopped backend killed, say) is seen
 * even when the reconnect fails too. When neither proof comes within the fallback's time the requests fail
 * with ConnectionClosedError, as on any connection lost with requests in flight.
 */
export class Connection extends EventEmitter {
  readonly service: string;
  #path: ConnectionPath;
  #negotiated: Negotiated;
  #framed: FramedSocket;
  #unsettled: Unsettled | undefined;
  #settledWaiters: Array<(path: ConnectionPath) => void> = [];
  readonly #pending = new Map<bigint, Pending>();
  /** EVENT frames for requests that asked for a stream of them. */
  readonly #streams = new Map<bigint, (frame: Frame) => void>();
  #nextRequestId = 1n;
  #closed: Error | undefined;
  #closing = false;

  constructor(link: Link, service: string, handoff?: PendingHandoff) {
    super();
    this.service = service;
    this.#path = link.path;
    this.#negotiated = link.negotiated;
    this.#framed = link.framed;
    if (handoff) {
      const timer = setTimeout(
        () => this.#fallBack(new TimeoutError("waiting for the backend's ready event after the handoff", handoff.readyTimeoutMs), "open"),
        handoff.readyTimeoutMs,
      );
      this.#unsettled = { ...handoff, sent: [], timer, fallback: undefined };
    }
    this.#listen(link.framed);
  }

  /** How the client reached the backend; a handoff that fails before its ready event becomes a reconnect. */
  get path(): ConnectionPath {
    return this.#path;
  }

  /** The Negotiated of the link in use (the broker's for a handoff, the backend's for a reconnect). */
  get negotiated(): Negotiated {
    return this.#negotiated;
  }

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  /** Resolves with the path once it is known for good: at the ready event, or once the fallback link is up. */
  whenSettled(): Promise<ConnectionPath> {
    if (!this.#unsettled || this.#closed) return Promise.resolve(this.#path);
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  /**
   * Sends a REQUEST on `lane`; resolves with the RESPONSE payload. A payload of 16 KiB or more is sent from
   * its own buffer, not copied: leave it unchanged until the request settles.
   */
  request(lane: number, payload: Uint8Array, options: RequestOptions = {}): Promise<Buffer> {
    return this.#request(this.#nextRequestId++, lane, payload, options);
  }

  /**
   * A request whose EVENT frames (same request_id) go to `onEvent` until `end()`, which also sends CANCEL.
   * `response` resolves with the RESPONSE payload, as for request().
   */
  stream(
    lane: number,
    payload: Uint8Array,
    onEvent: (frame: Frame) => void,
    options: { signal?: AbortSignal } = {},
  ): { response: Promise<Buffer>; end(): void } {
    const requestId = this.#nextRequestId++;
    this.#streams.set(requestId, onEvent);
    return {
      response: this.#request(requestId, lane, payload, options),
      end: () => {
        if (this.#streams.delete(requestId) && !this.#closed)
          this.#write(newFrame({ kind: Frame_Kind.CANCEL, payloadProtocol: lane, requestId }));
      },
    };
  }

  #request(requestId: bigint, lane: number, payload: Uint8Array, options: RequestOptions): Promise<Buffer> {
    if (this.#closed) return Promise.reject(this.#closed);
    let pending!: Pending;
    const response = new Promise<Buffer>(
      (resolve, reject) => (pending = { resolve, reject, timer: undefined, signal: undefined, onAbort: undefined }),
    );
    this.#pending.set(requestId, pending);
    if (options.timeoutMs !== undefined) {
      const timeoutMs = options.timeoutMs;
      pending.timer = setTimeout(
        () => this.#abandon(requestId, lane, new TimeoutError(`request on lane 0x${lane.toString(16)}`, timeoutMs)),
        timeoutMs,
      );
    }
    const signal = options.signal;
    if (signal) {
      pending.signal = signal;
      pending.onAbort = () =>
        this.#abandon(requestId, lane, signal.reason ?? new AbortedError(`the request on lane 0x${lane.toString(16)}`));
      signal.addEventListener("abort", pending.onAbort, { once: true });
    }
    try {
      const deadlineUnixMs = options.deadlineUnixMs === undefined ? 0n : BigInt(Math.ceil(options.deadlineUnixMs));
      this.#write({ ...REQUEST, payloadProtocol: lane, requestId, payload: asBuffer(payload), deadlineUnixMs });
    } catch (error) {
      this.#pending.delete(requestId);
      cleanup(pending);
      pending.reject(error as Error);
    }
    return response;
  }

  /** Sends a raw frame (events, or requests whose responses you match yourself). */
  send(frame: Frame): void {
    if (this.#closed) throw this.#closed;
    this.#write(frame);
  }

  close(): void {
    this.#closing = true;
    this.#framed.close();
    // Between links nothing else would report the close.
    if (this.#unsettled?.fallback) this.#onClose(new ConnectionClosedError("closed by this side during the fallback from a handoff"));
  }

  #write(frame: Frame): void {
    const unsettled = this.#unsettled;
    if (unsettled) {
      unsettled.sent.push(frame);
      if (unsettled.fallback) return;
    }
    this.#framed.send(frame);
  }

  #listen(framed: FramedSocket): void {
    framed.listen(
      (frame) => {
        if (framed === this.#framed) this.#onFrame(frame);
      },
      (error, byPeer) => {
        if (framed !== this.#framed) return; // a link left behind by the fallback
        if (this.#unsettled && !this.#closing) this.#handedOffLost(error, byPeer ? "closed by peer" : "given up");
        else this.#onClose(error);
      },
    );
  }

  /** The ready event: the backend has the connection, so nothing needs sending again. */
  #settle(): void {
    const unsettled = this.#unsettled!;
    clearTimeout(unsettled.timer);
    this.#unsettled = undefined;
    unsettled.settled(this.#path);
    for (const resolve of this.#settledWaiters.splice(0)) resolve(this.#path);
  }

  /** The handoff given up on: no ready event in time, or the handed-off connection lost before it. */
  #fallBack(why: Error, handedOff: Fallback["handedOff"]): void {
    const unsettled = this.#unsettled!;
    clearTimeout(unsettled.timer);
    const timer = setTimeout(() => this.#fallbackTimedOut(), unsettled.fallbackTimeoutMs);
    const fallback: Fallback = { why, written: unsettled.sent.length, handedOff, reconnectFailed: undefined, startingOver: false, timer };
    unsettled.fallback = fallback;
    if (handedOff === "given up") this.#framed.close();
    unsettled.reconnect(why).then(
      (link) => this.#switchTo(link),
      (error: Error) => {
        fallback.reconnectFailed = error;
        this.#decide();
      },
    );
  }

  /** The handed-off connection closed, or sent something other than the ready event. */
  #handedOffLost(why: Error, how: "closed by peer" | "given up"): void {
    const fallback = this.#unsettled!.fallback;
    if (!fallback) return this.#fallBack(why, how);
    if (fallback.handedOff !== "open") return;
    fallback.handedOff = how;
    if (how === "given up") this.#framed.close();
    this.#decide();
  }

  /**
   * Once the reconnect has failed: a fresh start where nothing sent can run twice (nobody will ever read
   * the handed-off connection), a failure where it might, and otherwise wait for that connection.
   */
  #decide(): void {
    const fallback = this.#unsettled?.fallback;
    const error = fallback?.reconnectFailed;
    if (!fallback || !error || fallback.startingOver || fallback.handedOff === "open") return;
    if (!(error instanceof ClientError) || fallback.handedOff === "given up") return this.#failFallback(error.message, error);
    fallback.startingOver = true;
    this.#unsettled!.startOver(error).then(
      (link) => this.#switchTo(link),
      (e: Error) => this.#failFallback(e.message, e),
    );
  }

  /** The fallback's time is up: a reconnect still under way counts as failed. */
  #fallbackTimedOut(): void {
    const unsettled = this.#unsettled;
    const fallback = unsettled?.fallback;
    if (!fallback || fallback.startingOver) return;
    const ms = unsettled!.fallbackTimeoutMs;
    fallback.reconnectFailed ??= new TimeoutError("reconnecting to the backend", ms);
    if (fallback.handedOff !== "open") return this.#decide();
    this.#failFallback(
      `${fallback.reconnectFailed.message}; the handed-off connection neither became ready nor closed within ${ms} ms`,
      fallback.reconnectFailed,
    );
  }

  /** The fallback link is up: the handed-off connection is closed for good, and everything sent goes again. */
  #switchTo(link: Link): void {
    const unsettled = this.#unsettled;
    // Closed meanwhile, or settled on the handed-off connection after all.
    if (this.#closing || !unsettled?.fallback) return link.framed.close();
    clearTimeout(unsettled.fallback.timer);
    const handedOff = this.#framed;
    this.#framed = link.framed;
    handedOff.close();
    this.#path = link.path;
    this.#negotiated = link.negotiated;
    this.#settle();
    try {
      for (const frame of unsettled.sent) link.framed.send(frame);
    } catch {
      // The new link closed already: listen() reports it, and the requests fail.
    }
    this.#listen(link.framed);
  }

  /** The ready event came late, during the fallback: the backend has the handed-off connection after all. */
  #resume(): void {
    const unsettled = this.#unsettled!;
    const fallback = unsettled.fallback!;
    clearTimeout(fallback.timer);
    const held = unsettled.sent.slice(fallback.written);
    this.#settle();
    try {
      for (const frame of held) this.#framed.send(frame);
    } catch {
      // The connection closed already: listen() reports it, and the requests fail.
    }
  }

  #failFallback(detail: string, cause: Error): void {
    const why = this.#unsettled?.fallback?.why;
    if (!why) return;
    this.#onClose(
      new ConnectionClosedError(
        `the handoff to the ${this.service} backend did not complete (${why.message}) and no other way to it was found (${detail}); requests sent meanwhile may or may not have run`,
        cause,
      ),
    );
    this.#framed.close();
  }

  #abandon(requestId: bigint, lane: number, error: Error): void {
    const pending = this.#pending.get(requestId);
    if (!pending) return;
    this.#pending.delete(requestId);
    cleanup(pending);
    pending.reject(error);
    if (!this.#closed) this.#write(newFrame({ kind: Frame_Kind.CANCEL, payloadProtocol: lane, requestId }));
  }

  #onFrame(frame: Frame): void {
    const unsettled = this.#unsettled;
    if (unsettled) {
      if (unsettled.fallback && unsettled.fallback.handedOff !== "open") return; // the rest of a connection given up
      if (isReadyEvent(frame, this.#negotiated.handlePassedToken)) return unsettled.fallback ? this.#resume() : this.#settle();
      return this.#handedOffLost(new HandshakeError("the first frame after a handoff was not the backend's ready event"), "given up");
    }
    if (frame.kind === Frame_Kind.RESPONSE) {
      const pending = this.#pending.get(frame.requestId);
      if (!pending) return;
      this.#pending.delete(frame.requestId);
      cleanup(pending);
      pending.resolve(frame.payload);
    } else if (frame.kind === Frame_Kind.EVENT) {
      const stream = this.#streams.get(frame.requestId);
      if (stream) stream(frame);
      else this.emit("event", frame);
    }
  }

  #onClose(error: Error): void {
    if (this.#closed) return;
    this.#closed = error;
    if (this.#unsettled) {
      clearTimeout(this.#unsettled.timer);
      clearTimeout(this.#unsettled.fallback?.timer);
      this.#unsettled = undefined;
    }
    for (const resolve of this.#settledWaiters.splice(0)) resolve(this.#path);
    for (const [, pending] of this.#pending) {
      cleanup(pending);
      pending.reject(error instanceof ConnectionClosedError ? error : new ConnectionClosedError(error.message, error));
    }
    this.#pending.clear();
    this.#streams.clear();
    this.emit("close", error);
  }
}

/** The backend's ready event after a handoff: a HandoffAck, accepted, echoing our token. */
function isReadyEvent(frame: Frame, token: Uint8Array): boolean {
  if (frame.kind !== Frame_Kind.EVENT || frame.payloadProtocol !== Lane.HANDOFF) return false;
  try {
    const ack = HandoffAck.decode(frame.payload);
    return ack.accepted && Buffer.compare(ack.token, token) === 0;
  } catch {
    return false;
  }
}

/** The same bytes as a Buffer, without a copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
