// Regression: a stopped (SIGSTOP) or spinning backend kept its channel open and was reported ready while
// every handoff and reconnect to it failed. The broker pings each backend on the control channel; one that
// does not answer in time is killed and respawned, and clients are told when to retry meanwhile.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { Refused_Code } from "../../src/gen/quire/v1/hello.js";
import { signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { alive, identify } from "../helpers/fixtures.js";
import { helloFrame, RawPeer } from "../helpers/raw-peer.js";

const RESPAWN_DELAY_MS = 4_000;
let daemon: TestDaemon;
const stopped: ProcessIdentity[] = [];
before(async () => {
  daemon = await startTestDaemon([
    "--liveness-interval-ms",
    "100",
    "--liveness-timeout-ms",
    "2000",
    "--respawn-delay-ms",
    String(RESPAWN_DELAY_MS),
  ]);
});
after(async () => {
  for (const p of stopped) signalProcess(p, "SIGKILL");
  await daemon.stop();
});

async function echoState() {
  const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home });
  return status!.backends.find((b) => b.service === "echo")!;
}

test("a backend that stops answering liveness pings (SIGSTOP) is killed and respawned; meanwhile Hellos get BACKEND_SPAWN_FAILED with retry_after_ms", async () => {
  const client = await connect("echo", { home: daemon.home, autostart: false });
  assert.equal((await client.request(Lane.ECHO, Buffer.from("before"))).toString(), "before");
  const closed = new Promise((resolve) => client.once("close", resolve));
  const first = await echoState();
  assert.equal(first.state, "ready");
  const backend = identify(first.pid);
  stopped.push(backend);

  signalProcess(backend, "SIGSTOP");
  await eventually(async () => (await echoState()).state !== "ready", "the broker to notice the stopped backend", 20_000);
  const noticed = await echoState();
  assert.equal(noticed.state, "backoff");
  assert.match(noticed.lastError, /liveness/);

  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(helloFrame({}));
  const refused = (await peer.nextReply())?.refused;
  assert.equal(refused?.code, Refused_Code.BACKEND_SPAWN_FAILED);
  assert.ok(refused!.retryAfterMs > 0n, `retry_after_ms ${refused!.retryAfterMs}`);
  assert.match(refused!.reason, /liveness/);
  peer.close();

  await eventually(() => !alive(backend), "the stopped backend to be killed");
  await closed;
  await eventually(async () => (await echoState()).state === "ready", "the respawned backend", 20_000);
  const respawned = await echoState();
  assert.notEqual(respawned.pid, first.pid);
  assert.equal(respawned.restarts, 1);
  const again = await connect("echo", { home: daemon.home, autostart: false });
  assert.equal((await again.request(Lane.ECHO, Buffer.from("after"))).toString(), "after");
  again.close();
});

test("a backend that answers its pings is left alone", async () => {
  const { pid, restarts } = await echoState();
  // Many liveness intervals (100 ms) go by; each ping is answered.
  const client = await connect("echo", { home: daemon.home, autostart: false });
  for (let i = 0; i < 30; i++) {
    assert.equal((await client.request(Lane.ECHO, Buffer.from(`ping ${i}`))).toString(), `ping ${i}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  client.close();
  const now = await echoState();
  assert.equal(now.pid, pid);
  assert.equal(now.restarts, restarts);
  assert.equal(now.state, "ready");
});
