// A peer speaking the wire by hand, independent of quire's client library: for tests that send exactly
// the bytes they mean, bad ones included.
import { connect, type Socket } from "node:net";
import { type Frame, Frame_Kind } from "../../src/gen/quire/v1/frame.js";
import { Hello, HelloReply } from "../../src/gen/quire/v1/hello.js";
import { encodeFramed, FrameDecoder, newFrame } from "../../src/wire/framing.js";
import { WireError } from "../../src/wire/errors.js";
import { Lane } from "../../src/wire/lanes.js";

export class RawPeer {
  readonly socket: Socket;
  readonly #decoder = new FrameDecoder({ maxFirstBodyBytes: 16 * 1024 * 1024 });
  readonly #frames: Frame[] = [];
  #wake: (() => void) | undefined;
  /** Resolves when the other side has closed the connection. */
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#decoder.push(chunk);
      for (let f = this.#decoder.next(); f && !(f instanceof WireError); f = this.#decoder.next()) this.#frames.push(f);
      this.#wake?.();
    });
    socket.on("error", () => {});
    this.closed = new Promise((resolve) => socket.once("close", () => resolve()));
    void this.closed.then(() => this.#wake?.());
  }

  static connect(path: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once("connect", () => resolve(new RawPeer(socket)));
      socket.once("error", reject);
    });
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /**
   * The next frame, or undefined if the connection closes first. The bound is a safety net, not a
   * measure: a first Hello may start its backend, which takes seconds on a loaded machine.
   */
  async next(timeoutMs = 30_000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.#frames.length === 0) {
      if (this.socket.destroyed || this.socket.readableEnded) return undefined;
      if (Date.now() > deadline) throw new Error("no frame in time");
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.#frames.shift();
  }

  async nextReply(timeoutMs?: number): Promise<HelloReply | undefined> {
    const frame = await this.next(timeoutMs);
    return frame ? HelloReply.decode(frame.payload) : undefined;
  }

  close(): void {
    this.socket.destroy();
  }
}

export function helloFrame(fields: Partial<Hello>, requestId = 1n): Buffer {
  const hello = Hello.fromPartial({ clientMinProtocol: 1, clientMaxProtocol: 1, serviceName: "echo", peerPid: process.pid, ...fields });
  return encodeFramed(
    newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.CONTROL, requestId, payload: Buffer.from(Hello.encode(hello).finish()) }),
  );
}

export function echoRequest(requestId: bigint, payload: Buffer): Buffer {
  return encodeFramed(newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.ECHO, requestId, payload }));
}
