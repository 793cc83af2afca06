// Echo throughput after the handoff, pipelined, vs a raw Unix-socket echo server moving the same bytes.
// The raw client writes each framed request as it goes (one write per frame) and counts bytes back.
// Quire and raw alternate for several rounds; the figures are the medians of each.
import { connect } from "../src/client/connect.js";
import type { Connection } from "../src/client/connection.js";
import { dial } from "../src/client/transport.js";
import { Frame_Kind } from "../src/gen/quire/v1/frame.js";
import { encodeFramed, newFrame } from "../src/wire/framing.js";
import { Lane } from "../src/wire/lanes.js";
import { heading, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";

/** Keeps `window` requests in flight until `total` have been answered; returns seconds. */
function throughQuire(c: Connection, payload: Buffer, total: number, window: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let sent = 0;
    let done = 0;
    const pump = () => {
      while (sent < total && sent - done < window) {
        sent++;
        c.request(Lane.ECHO, payload).then(() => {
          if (++done === total) resolve((performance.now() - start) / 1000);
          else pump();
        }, reject);
      }
    };
    pump();
  });
}

/** The same framed bytes through a plain echo socket, with the same window. */
async function throughRaw(path: string, frame: Buffer, total: number, window: number): Promise<number> {
  const socket = await dial(path, 5_000);
  const seconds = await new Promise<number>((resolve) => {
    const start = performance.now();
    let sent = 0;
    let received = 0;
    const pump = () => {
      const completed = Math.floor(received / frame.length);
      while (sent < total && sent - completed < window) {
        sent++;
        socket.write(frame);
      }
    };
    socket.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received >= total * frame.length) resolve((performance.now() - start) / 1000);
      else pump();
    });
    pump();
  });
  socket.destroy();
  return seconds;
}

const ROUNDS = 5;

function median(values: number[]): number {
  return [...values].sort((x, y) => x - y)[values.length >> 1]!;
}

export async function benchThroughput(daemon: TestDaemon, rawEcho: string, scale: number): Promise<void> {
  heading(`echo throughput after the handoff (pipelined; medians of ${ROUNDS} alternating rounds)`);
  const c = await connect("echo", { home: daemon.home, autostart: false });
  for (const { size, total, window } of [
    { size: 64, total: Math.round(100_000 * scale), window: 64 },
    { size: 64 * 1024, total: Math.round(2_000 * scale), window: 16 },
  ]) {
    const payload = Buffer.alloc(size, 0x5a);
    const frame = encodeFramed(newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.ECHO, requestId: 1n, payload }));
    // Both sides speed up over their first rounds (the JIT, on both ends of each): two untimed rounds each.
    for (let warm = 0; warm < 2; warm++) {
      await throughQuire(c, payload, total, window);
      await throughRaw(rawEcho, frame, total, window);
    }
    const quire: number[] = [];
    const raw: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      quire.push(await throughQuire(c, payload, total, window));
      raw.push(await throughRaw(rawEcho, frame, total, window));
    }
    const q = median(quire);
    const r = median(raw);
    const label = size === 64 ? "64 B" : "64 KiB";
    report({
      bench: "throughput",
      metric: `${label} frames/s`,
      value: total / q,
      unit: "frames/s",
      baseline: { name: "raw echo", value: total / r },
    });
    report({
      bench: "throughput",
      metric: `${label} payload MB/s`,
      value: (total * size) / q / 1e6,
      unit: "MB/s",
      baseline: { name: "raw echo", value: (total * size) / r / 1e6 },
    });
  }
  c.close();
}
