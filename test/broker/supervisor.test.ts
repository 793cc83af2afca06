// A backend killed with SIGKILL is noticed and respawned; meanwhile its clients are refused with
// retry_after_ms, never left hanging, and then succeed.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { Refused_Code } from "../../src/gen/quire/v1/hello.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { helloFrame, RawPeer } from "../helpers/raw-peer.js";

const RESPAWN_DELAY_MS = 1_500;
let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon(["--respawn-delay-ms", String(RESPAWN_DELAY_MS)])));
after(() => daemon.stop());

async function echoState() {
  const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home });
  return status!.backends.find((b) => b.service === "echo")!;
}

test("SIGKILL a backend: its clients see the close, get Refused with retry_after_ms, then succeed", async () => {
  const client = await connect("echo", { home: daemon.home, autostart: false });
  // Handed off for good: a connection still waiting for its ready event would fall back to the respawned backend instead.
  assert.equal(await client.whenSettled(), "handoff");
  const first = await echoState();
  assert.equal(first.state, "ready");
  const closed = new Promise((resolve) => client.once("close", resolve));

  process.kill(first.pid, "SIGKILL");
  await closed;
  await eventually(async () => (await echoState()).state === "backoff", "the broker to notice the crash");

  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(helloFrame({}));
  const refused = (await peer.nextReply())?.refused;
  assert.equal(refused?.code, Refused_Code.BACKEND_SPAWN_FAILED);
  assert.ok(
    refused!.retryAfterMs > 0n && refused!.retryAfterMs <= BigInt(RESPAWN_DELAY_MS + 1_000),
    `retry_after_ms ${refused!.retryAfterMs}`,
  );
  assert.match(refused!.reason, /SIGKILL/);
  peer.close();

  // The client library waits as told and gets through, with no error shown.
  const steps: { step: string; code?: string }[] = [];
  const listen = (m: unknown) => steps.push(m as { step: string });
  subscribe("quire:client:handshake", listen);
  try {
    const again = await connect("echo", { home: daemon.home, autostart: false });
    assert.equal((await again.request(Lane.ECHO, Buffer.from("back"))).toString(), "back");
    again.close();
  } finally {
    unsubscribe("quire:client:handshake", listen);
  }
  assert.ok(
    steps.some((s) => s.step === "refused" && s.code === "BACKEND_SPAWN_FAILED"),
    JSON.stringify(steps),
  );

  const after = await echoState();
  assert.equal(after.state, "ready");
  assert.equal(after.restarts, 1);
  assert.notEqual(after.pid, first.pid);
});

test("a backend that keeps crashing is marked failed and Hellos say when to come back", async () => {
  // The budget is 3 crashes in 30 s; the first test used one of them.
  for (let crash = 0; (await echoState()).state !== "failed"; crash++) {
    assert.ok(crash < 4, "marked failed within the budget");
    await eventually(async () => ["ready", "failed"].includes((await echoState()).state), "the backend to be back");
    const { state, pid } = await echoState();
    if (state === "failed") break;
    process.kill(pid, "SIGKILL");
    await eventually(async () => ["backoff", "failed"].includes((await echoState()).state), "the crash to be noticed");
  }
  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(helloFrame({}));
  const refused = (await peer.nextReply())?.refused;
  assert.equal(refused?.code, Refused_Code.BACKEND_SPAWN_FAILED);
  assert.ok(refused!.retryAfterMs > 1_000n, `retry_after_ms ${refused!.retryAfterMs}`);
  assert.match(refused!.reason, /crashed \d+ times/);
  peer.close();
  const { ok, detail } = await adminCall(AdminOp.READYZ, { home: daemon.home });
  assert.equal(ok, false);
  assert.match(detail, /echo/);
});
