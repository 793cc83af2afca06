// A client's connection to a service's backend, after the handshake: requests matched to responses by
// request_id, pushed events, cancel and close.
import { EventEmitter } from "node:events";
import { Frame, Frame_Kind } from "../gen/quire/v1/frame.js";
import type { Negotiated } from "../gen/quire/v1/hello.js";
import { newFrame } from "../wire/framing.js";
import { ConnectionClosedError, TimeoutError } from "./errors.js";
import type { FramedSocket } from "./framed.js";

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
 */
export class Connection extends EventEmitter {
  readonly service: string;
  /** How the client reached the backend. */
  readonly path: "handoff" | "reconnect";
  readonly negotiated: Negotiated;
  readonly #framed: FramedSocket;
  readonly #pending = new Map<bigint, Pending>();
  /** EVENT frames for requests that asked for a stream of them. */
  readonly #streams = new Map<bigint, (frame: Frame) => void>();
  #nextRequestId = 1n;
  #closed: Error | undefined;

  constructor(framed: FramedSocket, service: string, path: "handoff" | "reconnect", negotiated: Negotiated) {
    super();
    this.#framed = framed;
    this.service = service;
    this.path = path;
    this.negotiated = negotiated;
    framed.listen(
      (frame) => this.#onFrame(frame),
      (error) => this.#onClose(error),
    );
  }

  get closed(): boolean {
    return this.#closed !== undefined;
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
        if (this.#streams.delete(requestId) && !this.#closed) this.#framed.send(newFrame({ kind: Frame_Kind.CANCEL, payloadProtocol: lane, requestId }));
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
      this.#framed.send({ ...REQUEST, payloadProtocol: lane, requestId, payload: asBuffer(payload) });
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
    this.#framed.send(frame);
  }

  close(): void {
    this.#framed.close();
  }

  #abandon(requestId: bigint, lane: number, error: Error): void {
    const pending = this.#pending.get(requestId);
    if (!pending) return;
    this.#pending.delete(requestId);
    cleanup(pending);
    pending.reject(error);
    if (!this.#closed) this.#framed.send(newFrame({ kind: Frame_Kind.CANCEL, payloadProtocol: lane, requestId }));
  }

  #onFrame(frame: Frame): void {
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
    for (const [, pending] of this.#pending) {
      cleanup(pending);
      pending.reject(error instanceof ConnectionClosedError ? error : new ConnectionClosedError(error.message, error));
    }
    this.#pending.clear();
    this.#streams.clear();
    this.emit("close", error);
  }
}

/** The same bytes as a Buffer, without a copy. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
