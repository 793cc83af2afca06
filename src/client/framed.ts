// A socket speaking frames: reads through the FrameDecoder, writes encoded frames. During the handshake
// frames are read one at a time with `read()`; after it they are delivered to `onFrame`.
import type { Socket } from "node:net";
import { Frame, Frame_Kind } from "../gen/quire/v1/frame.js";
import { Refused, type Refused_Code } from "../gen/quire/v1/hello.js";
import { FrameDecoder } from "../wire/framing.js";
import { FrameWriter } from "../wire/frame-writer.js";
import { WireError } from "../wire/errors.js";
import { Lane } from "../wire/lanes.js";
import { ConnectionClosedError, TimeoutError } from "./errors.js";

export class FramedSocket {
  readonly socket: Socket;
  // Payloads go to application code, which may keep them: a small one must not pin a whole read chunk.
  readonly #decoder = new FrameDecoder({ detachSmallPayloads: true });
  readonly #writer: FrameWriter;
  readonly #queue: Frame[] = [];
  #waiter: { resolve(f: Frame): void; reject(e: Error): void } | undefined;
  #closedWith: Error | undefined;
  #onFrame: ((frame: Frame) => void) | undefined;
  #onClose: ((error: Error) => void) | undefined;

  constructor(socket: Socket) {
    this.socket = socket;
    this.#writer = new FrameWriter(socket);
    socket.on("data", (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let item = this.#decoder.next(); item; item = this.#decoder.next()) {
        if (item instanceof WireError) return this.#fail(new ConnectionClosedError(`the peer sent a bad frame: ${item.message}`, item));
        this.#deliver(item);
        if (this.#closedWith) return;
      }
    });
    socket.on("error", (error) => this.#fail(new ConnectionClosedError(error.message, error)));
    socket.on("close", () => this.#fail(new ConnectionClosedError("the peer closed the connection")));
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

  /** Switches to push delivery; frames queued so far are delivered first. */
  listen(onFrame: (frame: Frame) => void, onClose: (error: Error) => void): void {
    this.#onFrame = onFrame;
    this.#onClose = onClose;
    for (let f = this.#queue.shift(); f; f = this.#queue.shift()) onFrame(f);
    if (this.#closedWith) onClose(this.#closedWith);
  }

  /** Closes the connection; frames already sent are written first. */
  close(): void {
    this.#writer.flush();
    this.socket.destroy();
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

  #fail(error: Error): void {
    if (this.#closedWith) return;
    this.#closedWith = error;
    this.socket.destroy();
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
    this.#onClose?.(error);
  }
}
