// Regression: a backend that died with a handed-off socket not yet acknowledged left the client hanging
// after Negotiated (neither the ready event nor EOF), because Node kept a sent Socket's handle until the
// receiver acknowledged it, and for ever when the receiver was dead. The broker now passes the bare handle
// and closes its copy itself, so the client sees EOF at once and reconnects. The ACK deadline is long here so that only the death can explain it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { identify } from "../helpers/fixtures.js";
import { helloFrame, RawPeer } from "../helpers/raw-peer.js";

let daemon: TestDaemon;
const stopped: ProcessIdentity[] = [];
// The liveness check is slowed too: the backend stays stopped on purpose, and only its SIGKILL may end it.
before(async () => (daemon = await startTestDaemon(["--handoff-ack-timeout-ms", "60000", "--liveness-timeout-ms", "60000"])));
after(async () => {
  for (const p of stopped) signalProcess(p, "SIGKILL");
  await daemon.stop();
});

const echoStatus = async () => (await adminCall(AdminOp.STATUS, { home: daemon.home })).status!.backends.find((b) => b.service === "echo")!;
const inFlight = async () =>
  Number(
    /^quire_handoffs_in_flight\{service="echo"\} (\d+)$/m.exec(
      (await adminCall(AdminOp.METRICS, { home: daemon.home })).metricsText,
    )?.[1] ?? 0,
  );

/** Stops the (running) echo backend so that an offer sent to it stays unacknowledged. */
async function stopEchoBackend(): Promise<ProcessIdentity> {
  const { pid } = await eventually(
    async () => {
      const echo = await echoStatus();
      return echo.state === "ready" && echo;
    },
    "the echo backend to be ready",
    15_000,
  );
  // The backend sends the client its ready event before it ACKs the broker: a warm-up handoff may still
  // be in flight here, and stopping the backend now would leave it so.
  await eventually(async () => (await inFlight()) === 0, "earlier handoffs to be acknowledged", 15_000);
  const backend = identify(pid);
  stopped.push(backend);
  signalProcess(backend, "SIGSTOP");
  return backend;
}

test("a backend dying with a handoff unacknowledged: the raw client gets EOF, not a hang", async () => {
  const warm = await connect("echo", { home: daemon.home, autostart: false });
  warm.close();
  const backend = await stopEchoBackend();

  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(helloFrame({ clientCapabilities: 1n }));
  const negotiated = (await peer.nextReply())?.negotiated;
  assert.equal((negotiated?.serverCapabilities ?? 0n) & 1n, 1n, "Negotiated for a handoff");
  await eventually(async () => (await inFlight()) === 1, "the offer to be sent", 15_000);

  signalProcess(backend, "SIGKILL");
  // Bounded well inside the 60 s ACK deadline: EOF has to come from the backend's death.
  assert.equal(await peer.next(20_000), undefined, "EOF, and no ready event, after the backend died");
  // The EOF may come before the broker has seen the death: the broker closed its copy once the handle was
  // sent, and the kernel closes the one queued for the dead backend.
  await eventually(async () => (await inFlight()) === 0, "the failed handoff to be counted out", 15_000);
  // The daemon's log says which connection it was, as Negotiated named it.
  const handoffFailures = async () =>
    readFileSync(daemon.places.logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes("handoff failed"))
      .map((l) => JSON.parse(l));
  const named = (logged: { connectionId: string; service: string }[]) =>
    logged.some((l) => l.connectionId === String(negotiated!.connectionId) && l.service === "echo");
  await eventually(async () => named(await handoffFailures()), "the failure in quired.log", 15_000);
});

test("a backend dying with a handoff unacknowledged: the client library reconnects and is served by the respawned backend", async () => {
  const backend = await stopEchoBackend();
  const steps: { step: string; reason?: string; code?: string }[] = [];
  const listen = (m: unknown) => steps.push(m as { step: string });
  subscribe("quire:client:handshake", listen);
  try {
    const connecting = connect("echo", { home: daemon.home, autostart: false, readyTimeoutMs: 20_000, timeoutMs: 60_000 });
    await eventually(async () => (await inFlight()) === 1, "the offer to be sent", 15_000);
    signalProcess(backend, "SIGKILL");
    const connection = await connecting;
    assert.equal((await connection.request(Lane.ECHO, Buffer.from("after the respawn"))).toString(), "after the respawn");
    connection.close();
  } finally {
    unsubscribe("quire:client:handshake", listen);
  }
  const failed = steps.find((s) => s.step === "handoff-failed");
  // The closed connection, not the ready timeout, sent the client on: it was not left waiting.
  assert.match(failed?.reason ?? "", /^connection closed/, JSON.stringify(steps));
  assert.ok(["handoff", "reconnect"].includes(steps.at(-1)!.step), JSON.stringify(steps));
  const now = await echoStatus();
  assert.notEqual(now.pid, backend.pid);
});
