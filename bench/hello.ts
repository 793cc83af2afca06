// Hello -> Negotiated on an open connection vs a raw Unix-socket echo of the same bytes.
import type { Socket } from "node:net";
import { dial } from "../src/client/transport.js";
import { FrameDecoder } from "../src/wire/framing.js";
import { helloFrame } from "../test/helpers/raw-peer.js";
import { heading, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";
import { latency } from "./lib/stats.js";

const HELLO = helloFrame({ clientCapabilities: 1n });

/** Writes `bytes` and resolves when `done(chunk)` says the answer is complete. */
function roundTrip(socket: Socket, bytes: Buffer, done: (chunk: Buffer) => boolean): Promise<number> {
  return new Promise((resolve) => {
    const onData = (chunk: Buffer) => {
      if (!done(chunk)) return;
      socket.off("data", onData);
      resolve(performance.now() - start);
    };
    socket.on("data", onData);
    const start = performance.now();
    socket.write(bytes);
  });
}

export async function benchHello(daemon: TestDaemon, rawEcho: string, rounds: number): Promise<void> {
  heading(`Hello -> Negotiated round trip (${rounds} rounds, ${HELLO.length}-byte Hello)`);
  const hello: number[] = [];
  const raw: number[] = [];
  for (let i = -100; i < rounds; i++) {
    const broker = await dial(daemon.places.socket, 5_000);
    const decoder = new FrameDecoder();
    const h = await roundTrip(broker, HELLO, (chunk) => {
      decoder.push(chunk);
      return decoder.next() !== undefined;
    });
    broker.destroy();
    const echo = await dial(rawEcho, 5_000);
    let received = 0;
    const r = await roundTrip(echo, HELLO, (chunk) => (received += chunk.length) >= HELLO.length);
    echo.destroy();
    if (i < 0) continue;
    hello.push(h);
    raw.push(r);
  }
  const h = latency(hello);
  const r = latency(raw);
  report({ bench: "hello", metric: "Hello->Negotiated p50", value: h.p50, unit: "µs", baseline: { name: "raw echo", value: r.p50 } });
  report({ bench: "hello", metric: "Hello->Negotiated p99", value: h.p99, unit: "µs", baseline: { name: "raw echo", value: r.p99 } });
}
