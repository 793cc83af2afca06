// An independent client for the connect benches: raw frames over node:net, none of quire's client library
// (no Connection, no retries, no decoder beyond the framing header), so the figures are the daemon's and
// the kernel's, as a client in another language would see them.
import { connect, type Socket } from "node:net";
import { Frame_Kind } from "../../src/gen/quire/v1/frame.js";
import { HelloReply } from "../../src/gen/quire/v1/hello.js";
import { decodeFrameBody } from "../../src/wire/frame-body.js";
import { encodeFramed, newFrame } from "../../src/wire/framing.js";
import { Lane } from "../../src/wire/lanes.js";
import { helloFrame } from "../../test/helpers/raw-peer.js";

const PAYLOAD = Buffer.from("ping");
export const ECHO_REQUEST = encodeFramed(
  newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.ECHO, requestId: 2n, payload: PAYLOAD }),
);
export const HANDOFF_HELLO = helloFrame({ clientCapabilities: 1n });
export const RECONNECT_HELLO = helloFrame({ clientCapabilities: 0n });
/** The Hello and the first request in one write, which only the handoff allows. */
export const PIPELINED_HELLO = Buffer.concat([HANDOFF_HELLO, ECHO_REQUEST]);

/** A connected socket that hands out whole frames' bodies as they arrive. */
class RawFrames {
  readonly socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #bodies: Buffer[] = [];
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(socket: Socket) {
    this.socket = socket;
    socket.on("data", (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      while (this.#buffer.length >= 5) {
        const length = this.#buffer.readUInt32LE(1);
        if (this.#buffer.length < 5 + length) break;
        this.#bodies.push(this.#buffer.subarray(5, 5 + length));
        this.#buffer = this.#buffer.subarray(5 + length);
      }
      this.#wake?.();
    });
    socket.on("error", () => {});
    socket.on("close", () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  /** Connects and writes `first` at once (queued until the connect completes, as a raw echo client does). */
  static dial(path: string, first: Buffer): RawFrames {
    const socket = connect(path);
    socket.write(first);
    return new RawFrames(socket);
  }

  async body(): Promise<Buffer> {
    while (this.#bodies.length === 0) {
      if (this.#closed) throw new Error("connection closed before the expected frame");
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    return this.#bodies.shift()!;
  }

  close(): void {
    this.socket.destroy();
  }
}

function token(body: Buffer): { token: Buffer; backend: string } {
  const n = HelloReply.decode(decodeFrameBody(body).payload).negotiated;
  if (!n) throw new Error("refused");
  return { token: n.handlePassedToken, backend: n.backendPipe };
}

/** Connect -> Hello (handoff) -> Negotiated -> echo request -> ready -> echo; ms to the echo. */
export async function rawHandoff(broker: string): Promise<number> {
  const start = performance.now();
  const c = RawFrames.dial(broker, HANDOFF_HELLO);
  await c.body(); // Negotiated
  c.socket.write(ECHO_REQUEST);
  await c.body(); // the ready event
  await c.body(); // the echo
  const ms = performance.now() - start;
  c.close();
  return ms;
}

/** The echo request in the Hello's own write: connect -> one write -> Negotiated, ready, echo. */
export async function rawPipelined(broker: string): Promise<number> {
  const start = performance.now();
  const c = RawFrames.dial(broker, PIPELINED_HELLO);
  await c.body();
  await c.body();
  await c.body();
  const ms = performance.now() - start;
  c.close();
  return ms;
}

/** Connect -> Hello (no handoff) -> Negotiated; dial the backend -> Hello with the token -> Negotiated -> echo. */
export async function rawReconnect(broker: string): Promise<number> {
  const start = performance.now();
  const b = RawFrames.dial(broker, RECONNECT_HELLO);
  const { token: t, backend } = token(await b.body());
  b.close();
  const c = RawFrames.dial(backend, helloFrame({ authToken: t }));
  await c.body();
  c.socket.write(ECHO_REQUEST);
  await c.body();
  const ms = performance.now() - start;
  c.close();
  return ms;
}

/** A raw Unix-socket connect -> echo of `bytes` from a plain echo server (no framing, no protocol). */
export async function rawEcho(path: string, bytes: Buffer): Promise<number> {
  const start = performance.now();
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    let received = 0;
    socket.once("error", reject);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= bytes.length) resolve();
    });
    socket.write(bytes);
  });
  const ms = performance.now() - start;
  socket.destroy();
  return ms;
}
