// One client connection a backend serves, however it arrived (handed off or reconnected): frames in,
// frames out, backpressure, and a reason sent before any close.
import type { Socket } from "node:net";
import { type Frame, Frame_Kind } from "../gen/quire/v1/frame.js";
import { BackendIdentity } from "../gen/quire/v1/admin.js";
import { Refused, Refused_Code } from "../gen/quire/v1/hello.js";
import { type FrameDecoder, newFrame } from "../wire/framing.js";
import { FrameWriter } from "../wire/frame-writer.js";
import { WireError } from "../wire/errors.js";
import { Lane } from "../wire/lanes.js";
import { PROTOCOL_MAX } from "../wire/protocol.js";
import { QUIRE_VERSION } from "../version.js";

/** What a service implements. Frames reach it already validated. */
export interface ServiceHandler {
  /** A REQUEST or CANCEL on a service lane. */
  onFrame(frame: Frame, client: ServedConnection): void;
  onClose?(client: ServedConnection): void;
  /**
   * Resolves when in-flight work is done; the backend waits for it before exiting on drain, at most the
   * drain's grace, after which it SIGKILLs what the service spawned (`Subprocess.killAll()`).
   */
  drain?(): Promise<void>;
  /**
   * The service gives back every request it is handed with `client.release(frame)` once nothing will
   * read its payload again (for a payload sent back: in send()'s `sent` callback). Its connections then
   * read large bodies into pooled buffers, reused for later frames; a service that keeps a payload, or
   * might, leaves this unset.
   */
  releasesPayloads?: boolean;
}

export class ServedConnection {
  readonly #socket: Socket;
  readonly #decoder: FrameDecoder;
  readonly #writer: FrameWriter;
  readonly #service: string;
  readonly #handler: ServiceHandler;
  readonly #readsIntoDecoder: boolean;
  #closed = false;
  #onClosed: (client: ServedConnection) => void;
  /** Settles the promise drained() handed out while the socket is backed up, at its 'drain' or the close. */
  #whenDrained: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(options: {
    socket: Socket;
    decoder: FrameDecoder;
    /** The socket reads into `decoder` itself and calls pump() after each read (no 'data' events). */
    readsIntoDecoder?: boolean;
    service: string;
    handler: ServiceHandler;
    onClosed: (client: ServedConnection) => void;
  }) {
    this.#socket = options.socket;
    this.#decoder = options.decoder;
    this.#service = options.service;
    this.#handler = options.handler;
    this.#onClosed = options.onClosed;
    this.#readsIntoDecoder = options.readsIntoDecoder ?? false;
    // Frames sent in one tick leave in one write; reading from this client pauses while its socket is backed up.
    this.#writer = new FrameWriter(options.socket, { onFull: () => options.socket.pause() });
  }

  /** Bytes written to this client that its socket has not yet sent. */
  get pendingBytes(): number {
    return this.#socket.writableLength + this.#writer.pending;
  }

  /** True while this client is behind: its socket holds more than it takes in one go, and waits for it to read. */
  get backedUp(): boolean {
    return !this.#closed && this.#socket.writableNeedDrain;
  }

  /**
   * Resolves once the client has caught up (its socket has drained), or at once when it is not behind;
   * also when the connection closes. Frames sent in this tick leave at its end and do not count yet.
   * A producer that awaits this after each send keeps at most a socket's worth of output queued.
   */
  drained(): Promise<void> {
    if (!this.backedUp) return Promise.resolve();
    if (!this.#whenDrained) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#whenDrained = { promise, resolve };
    }
    return this.#whenDrained.promise;
  }

  /** Starts serving: frames already in the decoder first, then whatever the socket reads. */
  start(): void {
    const socket = this.#socket;
    if (!this.#readsIntoDecoder) {
      socket.on("data", (chunk: Buffer) => {
        this.#decoder.push(chunk);
        this.pump();
      });
    }
    socket.on("end", () => {
      const error = this.#decoder.end();
      if (error) this.#reject(error);
      else socket.end();
    });
    socket.on("drain", () => {
      socket.resume();
      this.#settleDrained();
    });
    socket.on("error", () => this.#finish());
    socket.on("close", () => this.#finish());
    this.pump();
  }

  /**
   * Sends a frame, with every other frame sent in this tick; pauses reading from this client while its
   * socket is backed up. A payload of 16 KiB or more is sent from its own buffer: leave it unchanged
   * until `sent` runs (the write has completed or failed, or the connection is closed).
   */
  send(frame: Frame, sent?: () => void): void {
    if (this.#closed) return sent?.();
    this.#writer.write(frame, sent);
  }

  /**
   * Gives a request's pooled body back (see ServiceHandler.releasesPayloads): neither its payload nor any
   * frame sent from it may be read, or be waiting to be written, afterwards.
   */
  release(request: Frame): void {
    this.#decoder.release(request);
  }

  /** Writes what was sent in this tick now, rather than at its end. */
  flush(): void {
    if (!this.#closed) this.#writer.flush();
  }

  respond(request: Frame, payload: Uint8Array): void {
    this.send(
      newFrame({
        kind: Frame_Kind.RESPONSE,
        payloadProtocol: request.payloadProtocol,
        requestId: request.requestId,
        payload: asBuffer(payload),
      }),
    );
  }

  /** Sends the reason as an unsolicited Refused on the control lane, then closes. */
  close(code: Refused_Code, reason: string, details: Record<string, string> = {}): void {
    if (this.#closed) return;
    const refused = Refused.encode(Refused.fromPartial({ reason, code, details })).finish();
    this.#writer.write(newFrame({ kind: Frame_Kind.EVENT, payloadProtocol: Lane.CONTROL, payload: asBuffer(refused) }));
    this.#writer.flush();
    this.#socket.end();
    this.#finish();
  }

  /** Serves every whole frame the decoder holds. */
  pump(): void {
    for (let item = this.#decoder.next(); item && !this.#closed; item = this.#decoder.next()) {
      if (item instanceof WireError) return this.#reject(item);
      this.#dispatch(item);
    }
  }

  #dispatch(frame: Frame): void {
    if (frame.kind !== Frame_Kind.REQUEST && frame.kind !== Frame_Kind.CANCEL) return;
    if (frame.payloadProtocol === Lane.IDENTITY) {
      const identity = BackendIdentity.fromPartial({
        service: this.#service,
        pid: process.pid,
        daemonVersion: QUIRE_VERSION,
        protocol: PROTOCOL_MAX,
      });
      return this.respond(frame, BackendIdentity.encode(identity).finish());
    }
    if (frame.payloadProtocol === Lane.CONTROL || frame.payloadProtocol === Lane.HANDOFF || frame.payloadProtocol === Lane.ADMIN) {
      return this.close(
        Refused_Code.UNSPECIFIED,
        `lane 0x${frame.payloadProtocol.toString(16)} is not served by the ${this.#service} backend`,
      );
    }
    this.#handler.onFrame(frame, this);
  }

  #reject(error: WireError): void {
    this.close(Refused_Code.UNSPECIFIED, error.message, { error: error.code });
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.destroySoon();
    this.#handler.onClose?.(this);
    this.#onClosed(this);
    this.#settleDrained();
  }

  #settleDrained(): void {
    const waiting = this.#whenDrained;
    this.#whenDrained = undefined;
    waiting?.resolve();
  }
}

/** The same bytes as a Buffer, without a copy. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
