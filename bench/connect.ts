// Connect to first echo response: handoff vs reconnect vs a direct connection to the backend socket
// (a token minted beforehand, so only the backend's own Hello and the echo are timed). Then echo round
// trips on established connections: after a handoff vs after a reconnect, interleaved.
import { connect } from "../src/client/connect.js";
import type { Connection } from "../src/client/connection.js";
import { FramedSocket } from "../src/client/framed.js";
import { Frame_Kind } from "../src/gen/quire/v1/frame.js";
import { HelloReply } from "../src/gen/quire/v1/hello.js";
import { newFrame } from "../src/wire/framing.js";
import { Lane } from "../src/wire/lanes.js";
import { helloFrame } from "../test/helpers/raw-peer.js";
import { PIPELINED_HELLO, rawEcho, rawHandoff, rawPipelined, rawReconnect } from "./lib/raw-client.js";
import { heading, note, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";
import { latency } from "./lib/stats.js";

const PAYLOAD = Buffer.from("ping");

async function viaConnect(home: string, handoff: boolean): Promise<number> {
  const start = performance.now();
  const c = await connect("echo", { home, handoff, autostart: false });
  await c.request(Lane.ECHO, PAYLOAD);
  const elapsed = performance.now() - start;
  if (c.path !== (handoff ? "handoff" : "reconnect"))
    throw new Error(`expected the ${handoff ? "handoff" : "reconnect"} path, took ${c.path}`);
  c.close();
  return elapsed;
}

/** A token registered with the backend, minted through the broker (not timed). */
async function mintToken(socket: string): Promise<{ token: Buffer; backend: string }> {
  const framed = await FramedSocket.dial(socket, 5_000);
  framed.socket.write(helloFrame({ clientCapabilities: 0n }));
  const n = HelloReply.decode((await framed.read(5_000, "Negotiated")).payload).negotiated!;
  framed.close();
  return { token: n.handlePassedToken, backend: n.backendPipe };
}

async function direct({ token, backend }: { token: Buffer; backend: string }): Promise<number> {
  const start = performance.now();
  const framed = await FramedSocket.dial(backend, 5_000);
  framed.socket.write(helloFrame({ authToken: token }));
  const reply = HelloReply.decode((await framed.read(5_000, "Negotiated")).payload);
  if (!reply.negotiated) throw new Error(reply.refused?.reason);
  framed.send(newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.ECHO, requestId: 2n, payload: PAYLOAD }));
  await framed.read(5_000, "echo");
  const elapsed = performance.now() - start;
  framed.close();
  return elapsed;
}

export async function benchConnect(daemon: TestDaemon, connections: number): Promise<void> {
  heading(`connect to first echo response (${connections} connections per path, interleaved)`);
  const samples = { handoff: [] as number[], reconnect: [] as number[], direct: [] as number[] };
  const batch = 250;
  for (let done = -200; done < connections; done += batch) {
    const warmup = done < 0;
    const n = warmup ? 200 : Math.min(batch, connections - done);
    const tokens = [];
    for (let i = 0; i < n; i++) tokens.push(await mintToken(daemon.places.socket));
    for (let i = 0; i < n; i++) {
      const h = await viaConnect(daemon.home, true);
      const r = await viaConnect(daemon.home, false);
      const d = await direct(tokens[i]!);
      if (warmup) continue;
      samples.handoff.push(h);
      samples.reconnect.push(r);
      samples.direct.push(d);
    }
  }
  const h = latency(samples.handoff);
  const r = latency(samples.reconnect);
  const d = latency(samples.direct);
  for (const p of ["p50", "p99"] as const) {
    report({ bench: "connect", metric: `handoff ${p}`, value: h[p], unit: "µs", baseline: { name: "direct", value: d[p] } });
    report({ bench: "connect", metric: `reconnect ${p}`, value: r[p], unit: "µs", baseline: { name: "direct", value: d[p] } });
    report({
      bench: "connect",
      metric: `handoff vs reconnect ${p}`,
      value: h[p],
      unit: "µs",
      baseline: { name: "reconnect", value: r[p] },
    });
  }
  note(`handoff beats reconnect at p50: ${h.p50 < r.p50 ? "yes" : "NO"}, at p99: ${h.p99 < r.p99 ? "yes" : "NO"}`);
}

/**
 * The same, from an independent client (raw frames over node:net, none of quire's client library, as a
 * client in another language would speak it): handoff vs reconnect, and the request pipelined behind
 * the Hello (in the same write, which only the handoff allows) vs a raw connect -> echo of those bytes.
 */
export async function benchConnectRawClient(daemon: TestDaemon, rawEchoPath: string, connections: number): Promise<void> {
  heading(`connect to first echo response, independent raw-frames client (${connections} connections per path, rotating order)`);
  const broker = daemon.places.socket;
  const samples = { handoff: [] as number[], pipelined: [] as number[], reconnect: [] as number[], raw: [] as number[] };
  const steps: Array<() => Promise<void>> = [
    async () => void samples.handoff.push(await rawHandoff(broker)),
    async () => void samples.pipelined.push(await rawPipelined(broker)),
    async () => void samples.reconnect.push(await rawReconnect(broker)),
    async () => void samples.raw.push(await rawEcho(rawEchoPath, PIPELINED_HELLO)),
  ];
  for (let i = -200; i < connections; i++) {
    const order = ((i % steps.length) + steps.length) % steps.length;
    for (let k = 0; k < steps.length; k++) await steps[(k + order) % steps.length]!();
    if (i < 0) for (const s of Object.values(samples)) s.length = 0;
  }
  const h = latency(samples.handoff);
  const p = latency(samples.pipelined);
  const r = latency(samples.reconnect);
  const w = latency(samples.raw);
  for (const q of ["p50", "p99"] as const) {
    report({
      bench: "connect",
      metric: `raw client: handoff vs reconnect ${q}`,
      value: h[q],
      unit: "µs",
      baseline: { name: "reconnect", value: r[q] },
    });
    report({
      bench: "connect",
      metric: `raw client: pipelined ${q}`,
      value: p[q],
      unit: "µs",
      baseline: { name: "raw echo", value: w[q] },
    });
  }
}

/** Sequential request/response round trips; returns the samples in ms. */
async function roundTrips(c: Connection, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await c.request(Lane.ECHO, PAYLOAD);
    samples.push(performance.now() - start);
  }
  return samples;
}

/** Echo on a connection that was handed off vs on one the same client reached by reconnecting. */
export async function benchEchoAfter(daemon: TestDaemon, roundTripsPerPath: number): Promise<void> {
  heading(`echo round trips after connect (${roundTripsPerPath} per path, interleaved in blocks of 250)`);
  const handoff = await connect("echo", { home: daemon.home, handoff: true, autostart: false });
  const reconnect = await connect("echo", { home: daemon.home, handoff: false, autostart: false });
  if (handoff.path !== "handoff" || reconnect.path !== "reconnect") throw new Error("expected one connection by each path");
  const samples = { handoff: [] as number[], reconnect: [] as number[] };
  const time = { handoff: 0, reconnect: 0 };
  const block = 250;
  for (let done = -1_000; done < roundTripsPerPath; done += block) {
    const first = (done / block) % 2 === 0 ? "handoff" : "reconnect";
    for (const path of first === "handoff" ? (["handoff", "reconnect"] as const) : (["reconnect", "handoff"] as const)) {
      const s = await roundTrips(path === "handoff" ? handoff : reconnect, block);
      if (done < 0) continue;
      samples[path].push(...s);
      time[path] += s.reduce((a, b) => a + b, 0);
    }
  }
  handoff.close();
  reconnect.close();
  const rate = (path: "handoff" | "reconnect") => samples[path].length / (time[path] / 1000);
  report({
    bench: "connect",
    metric: "echo after handoff round trips/s",
    value: rate("handoff"),
    unit: "rt/s",
    baseline: { name: "after reconnect", value: rate("reconnect") },
  });
  const h = latency(samples.handoff);
  const r = latency(samples.reconnect);
  for (const p of ["p50", "p99"] as const) {
    report({
      bench: "connect",
      metric: `echo after handoff ${p}`,
      value: h[p],
      unit: "µs",
      baseline: { name: "after reconnect", value: r[p] },
    });
  }
}
