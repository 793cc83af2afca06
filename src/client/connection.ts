// A client's connection to a service's backend, after the handshake: requests matched to responses by
// request_id, pushed events, cancel and close. A handed-off connection is usable from Negotiated on; until
// the backend's ready event it keeps what it sent, to send again on another link if the handoff fails.
import { EventEmitter } from "node:events";
import { Frame, Frame_Kind } from "../gen/quire/v1/frame.js";
import { HandoffAck } from "../gen/quire/v1/handoff.js";
import type { Negotiated } from "../gen/quire/v1/hello.js";
import { newFrame } from "../wire/framing.js";
import { Lane } from "../wire/lanes.js";
import { ConnectionClosedError, HandshakeError, TimeoutError } from "./errors.js";
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
  /**
   * Another link to the service, for when the handoff does not go through. `peerClosed`: the far end
   * closed the connection before any ready event, so nobody can ever read what was sent on it.
   * Rejects when no link can be had without risking a request running twice.
   */
  fallBack(peerClosed: boolean, why: Error): Promise<Link>;
  /** Called once, when the path is known for good. */
  settled(path: ConnectionPath): void;
}

/** A handed-off connection until it settles: the frames sent so far, to send again on another link. */
interface Unsettled extends PendingHandoff {
  sent: Frame[];
  timer: NodeJS.Timeout;
  /** Waiting for the fallback link: frames are kept, not written. */
  fallingBack: boolean;
}

export interface RequestOptions {
  /** Give up (and send CANCEL) after this long. */
  timeoutMs?: number;
  signal?: AbortSignal;
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
 * adopt the old connection (the token is good once). Otherwise the requests fail with
 * ConnectionClosedError, as on any connection lost with requests in flight.
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
      const timer = setTimeout(() => this.#fallBack(false, new TimeoutError("waiting for the backend's ready event after the handoff", handoff.readyTimeoutMs)), handoff.readyTimeoutMs);
      this.#unsettled = { ...handoff, sent: [], timer, fallingBack: false };
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
  stream(lane: number, payload: Uint8Array, onEvent: (frame: Frame) => void): { response: Promise<Buffer>; end(): void } {
    const requestId = this.#nextRequestId++;
    this.#streams.set(requestId, onEvent);
    return {
      response: this.#request(requestId, lane, payload, {}),
      end: () => {
        if (this.#streams.delete(requestId) && !this.#closed) this.#write(newFrame({ kind: Frame_Kind.CANCEL, payloadProtocol: lane, requestId }));
      },
    };
  }

  #request(requestId: bigint, lane: number, payload: Uint8Array, options: RequestOptions): Promise<Buffer> {
    if (this.#closed) return Promise.reject(this.#closed);
    let pending!: Pending;
    const response = new Promise<Buffer>((resolve, reject) => (pending = { resolve, reject, timer: undefined, signal: undefined, onAbort: undefined }));
    this.#pending.set(requestId, pending);
    if (options.timeoutMs !== undefined) {
      const timeoutMs = options.timeoutMs;
      pending.timer = setTimeout(() => this.#abandon(requestId, lane, new TimeoutError(`request on lane 0x${lane.toString(16)}`, timeoutMs)), timeoutMs);
    }
    const signal = options.signal;
    if (signal) {
      pending.signal = signal;
      pending.onAbort = () => this.#abandon(requestId, lane, signal.reason ?? new Error("aborted"));
      signal.addEventListener("abort", pending.onAbort, { once: true });
    }
    try {
      this.#write({ ...REQUEST, payloadProtocol: lane, requestId, payload: asBuffer(payload) });
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
    if (this.#unsettled?.fallingBack) this.#onClose(new ConnectionClosedError("closed by this side during the fallback from a handoff"));
  }

  #write(frame: Frame): void {
    const unsettled = this.#unsettled;
    if (unsettled) {
      unsettled.sent.push(frame);
      if (unsettled.fallingBack) return;
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
        if (this.#unsettled && !this.#closing) this.#fallBack(byPeer, error);
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

  #fallBack(peerClosed: boolean, why: Error): void {
    const unsettled = this.#unsettled!;
    if (unsettled.fallingBack) return;
    unsettled.fallingBack = true;
    clearTimeout(unsettled.timer);
    this.#framed.close();
    unsettled.fallBack(peerClosed, why).then(
      (link) => {
        if (this.#closing) return link.framed.close();
        this.#framed = link.framed;
        this.#path = link.path;
        this.#negotiated = link.negotiated;
        this.#settle();
        try {
          for (const frame of unsettled.sent) link.framed.send(frame);
        } catch {
          // The new link closed already: listen() reports it, and the requests fail.
        }
        this.#listen(link.framed);
      },
      (error: Error) => {
        this.#onClose(new ConnectionClosedError(`the handoff to the ${this.service} backend did not complete (${why.message}) and no other way to it was found (${error.message}); requests sent meanwhile may or may not have run`, error));
      },
    );
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
    if (this.#unsettled) {
      if (this.#unsettled.fallingBack) return; // the rest of a link being given up
      if (isReadyEvent(frame, this.#negotiated.handlePassedToken)) return this.#settle();
      return this.#fallBack(false, new HandshakeError("the first frame after a handoff was not the backend's ready event"));
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
