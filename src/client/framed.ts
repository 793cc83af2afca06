// A socket speaking frames: reads through the FrameDecoder, writes encoded frames. During the handshake
// frames are read one at a time with `read()`; after it they are delivered to `onFrame`.
import type { Socket } from "node:net";
import { type Frame, Frame_Kind } from "../gen/quire/v1/frame.js";
import { Refused, type Refused_Code } from "../gen/quire/v1/hello.js";
import { FrameDecoder } from "../wire/framing.js";
import { FrameWriter } from "../wire/frame-writer.js";
import { WireError } from "../wire/errors.js";
import { Lane } from "../wire/lanes.js";
import { ConnectionClosedError, TimeoutError } from "./errors.js";
import { dial } from "./transport.js";

export class FramedSocket {
  readonly socket: Socket;
  // Payloads go to application code, which may keep them: a small one must not pin a whole read chunk.
  readonly #decoder: FrameDecoder;
  readonly #writer: FrameWriter;
  readonly #queue: Frame[] = [];
  #waiter: { resolve(f: Frame): void; reject(e: Error): void } | undefined;
  #closedWith: Error | undefined;
  #onFrame: ((frame: Frame) => void) | undefined;
  /** Whether the far end closed the connection (EOF, reset), as opposed to this side giving up on it. */
  #byPeer = false;
  #closing = false;
  #onClose: ((error: Error, byPeer: boolean) => void) | undefined;

  /**
   * Dials `path` with reads going straight into the frame decoder (no 'data' events, no buffer allocated
   * per read, large bodies read into their own buffers).
   */
  static async dial(path: string, timeoutMs: number): Promise<FramedSocket> {
    const decoder = new FrameDecoder({ detachSmallPayloads: true });
    let framed: FramedSocket | undefined;
    const socket = await dial(path, timeoutMs, {
      buffer: () => decoder.readBuffer(),
      read: (n) => {
        decoder.wrote(n);
        if (framed) framed.#pump();
      },
    });
    framed = new FramedSocket(socket, decoder);
    return framed;
  }

  /** Frames over `socket`, read from its 'data' events; or, with `decoder`, a socket that reads into that decoder itself. */
  constructor(socket: Socket, decoder?: FrameDecoder) {
    this.socket = socket;
    this.#writer = new FrameWriter(socket);
    this.#decoder = decoder ?? new FrameDecoder({ detachSmallPayloads: true });
    if (decoder) this.#pump();
    else {
      socket.on("data", (chunk: Buffer) => {
        this.#decoder.push(chunk);
        this.#pump();
      });
    }
    socket.on("error", (error) => this.#fail(new ConnectionClosedError(error.message, error), !this.#closing));
    socket.on("close", () => this.#fail(new ConnectionClosedError("the peer closed the connection"), !this.#closing));
  }

  /**
   * Sends a frame, with every other frame sent in this tick (in one write). A payload of 16 KiB or more is
   * sent from its own buffer: leave it unchanged until the peer has answered.
   */
  send(frame: Frame): void {
    if (this.#closedWith) throw this.#closedWith;
    this.#writer.write(frame);
  }

  /** The next frame, for the handshake. */
  read(timeoutMs: number, what: string): Promise<Frame> {
    const queued = this.#queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.#closedWith) return Promise.reject(this.#closedWith);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined;
        reject(new TimeoutError(what, timeoutMs));
      }, timeoutMs);
      this.#waiter = {
        resolve: (f) => (clearTimeout(timer), resolve(f)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
    });
  }

  /**
   * Switches to push delivery; frames queued so far are delivered first. `onClose` learns whether the far
   * end closed the connection (`byPeer`: nobody holds its side any more) or this side gave up on it (a bad
   * frame, close()).
   */
  listen(onFrame: (frame: Frame) => void, onClose: (error: Error, byPeer: boolean) => void): void {
    this.#onFrame = onFrame;
    this.#onClose = onClose;
    for (let f = this.#queue.shift(); f && !this.#closedWith; f = this.#queue.shift()) onFrame(f);
    if (this.#closedWith) onClose(this.#closedWith, this.#byPeer);
  }

  /** Closes the connection; frames already sent are written first. */
  close(): void {
    this.#writer.flush();
    this.#closing = true;
    this.socket.destroy();
  }

  /** Delivers every whole frame the decoder holds. */
  #pump(): void {
    for (let item = this.#decoder.next(); item && !this.#closedWith; item = this.#decoder.next()) {
      if (item instanceof WireError) return this.#fail(new ConnectionClosedError(`the peer sent a bad frame: ${item.message}`, item));
      this.#deliver(item);
    }
  }

  #deliver(frame: Frame): void {
    // A peer that closes on us says why first: an unsolicited Refused on the control lane.
    if (frame.kind === Frame_Kind.EVENT && frame.payloadProtocol === Lane.CONTROL) {
      let reason = "the peer closed the connection";
      let code: Refused_Code | undefined;
      try {
        const refused = Refused.decode(frame.payload);
        reason = refused.reason || reason;
        code = refused.code;
      } catch {}
      return this.#fail(new ConnectionClosedError(reason, undefined, code));
    }
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter.resolve(frame);
    } else if (this.#onFrame) this.#onFrame(frame);
    else this.#queue.push(frame);
  }

  #fail(error: Error, byPeer = false): void {
    if (this.#closedWith) return;
    this.#closedWith = error;
    this.#byPeer = byPeer;
    this.socket.destroy();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
    this.#onClose?.(error, byPeer);
  }
}
