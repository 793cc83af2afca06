// connect -> HelloReply, for a reconnect Hello and for a handoff Hello, vs connect -> echo of the same
// bytes from a plain Node echo server. Each round times the three in turn, in a rotating order.
import { connect, type Socket } from "node:net";
import { FrameDecoder } from "../src/wire/framing.js";
import { helloFrame } from "../test/helpers/raw-peer.js";
import { heading, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";
import { latency } from "./lib/stats.js";

const RECONNECT_HELLO = helloFrame({ clientCapabilities: 0n });
const HANDOFF_HELLO = helloFrame({ clientCapabilities: 1n });

/** Connects, writes `bytes`, resolves when `done` says the answer is complete (timed from before the connect). */
function connectRoundTrip(path: string, bytes: Buffer, done: (chunk: Buffer) => boolean): Promise<{ ms: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const socket = connect(path);
    socket.once("error", reject);
    const onData = (chunk: Buffer) => {
      if (!done(chunk)) return;
      socket.off("data", onData);
      resolve({ ms: performance.now() - start, socket });
    };
    socket.on("data", onData);
    socket.write(bytes);
  });
}

function framesUntil(count: number): (chunk: Buffer) => boolean {
  const decoder = new FrameDecoder({ maxFirstBodyBytes: 1 << 20 });
  let seen = 0;
  return (chunk) => {
    decoder.push(chunk);
    while (decoder.next() !== undefined) seen++;
    return seen >= count;
  };
}

async function raw(path: string, bytes: Buffer): Promise<number> {
  let received = 0;
  const { ms, socket } = await connectRoundTrip(path, bytes, (chunk) => (received += chunk.length) >= bytes.length);
  socket.destroy();
  return ms;
}

async function reconnectHello(path: string): Promise<number> {
  const { ms, socket } = await connectRoundTrip(path, RECONNECT_HELLO, framesUntil(1));
  socket.destroy();
  return ms;
}

async function handoffHello(path: string): Promise<number> {
  const decoder = new FrameDecoder({ maxFirstBodyBytes: 1 << 20 });
  let seen = 0;
  let readySeen!: () => void;
  const ready = new Promise<void>((resolve) => (readySeen = resolve));
  const { ms, socket } = await connectRoundTrip(path, HANDOFF_HELLO, (chunk) => {
    decoder.push(chunk);
    while (decoder.next() !== undefined) seen++;
    return seen >= 1;
  });
  // Let the handoff finish (untimed), so the next round does not race the backend adopting this one.
  if (seen < 2) {
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      while (decoder.next() !== undefined) seen++;
      if (seen >= 2) readySeen();
    });
    await ready;
  }
  socket.destroy();
  return ms;
}

export async function benchHello(daemon: TestDaemon, rawEcho: string, rounds: number): Promise<void> {
  heading(`connect -> HelloReply (${rounds} rounds, ${RECONNECT_HELLO.length}-byte Hello) vs connect -> raw echo of the same bytes`);
  const samples = { reconnect: [] as number[], handoff: [] as number[], rawReconnect: [] as number[], rawHandoff: [] as number[] };
  const broker = daemon.places.socket;
  for (let i = -200; i < rounds; i++) {
    const order = ((i % 4) + 4) % 4;
    const steps: Array<() => Promise<void>> = [
      async () => void samples.reconnect.push(await reconnectHello(broker)),
      async () => void samples.rawReconnect.push(await raw(rawEcho, RECONNECT_HELLO)),
      async () => void samples.handoff.push(await handoffHello(broker)),
      async () => void samples.rawHandoff.push(await raw(rawEcho, HANDOFF_HELLO)),
    ];
    for (let k = 0; k < steps.length; k++) await steps[(k + order) % steps.length]!();
    if (i < 0) for (const s of Object.values(samples)) s.length = 0;
  }
  const rc = latency(samples.reconnect);
  const ho = latency(samples.handoff);
  // One baseline for both rows: a raw echo mostly follows the Hello of its own kind in the rotation, and
  // a handoff leaves work behind (the backend's ACK, the adopted socket's close) that a reconnect does not.
  const rw = latency([...samples.rawReconnect, ...samples.rawHandoff]);
  for (const p of ["p50", "p99"] as const) {
    report({
      bench: "hello",
      metric: `reconnect Hello->reply ${p}`,
      value: rc[p],
      unit: "µs",
      baseline: { name: "raw echo", value: rw[p] },
    });
    report({
      bench: "hello",
      metric: `handoff Hello->Negotiated ${p}`,
      value: ho[p],
      unit: "µs",
      baseline: { name: "raw echo", value: rw[p] },
    });
  }
}
