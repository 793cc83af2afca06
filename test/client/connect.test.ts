// The client library: handoff, reconnect, a failed handoff ending in a reconnect, autostart, and errors.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { Lane } from "../../src/wire/lanes.js";
import type { ProcessIdentity } from "../../src/runtime/processes.js";
import { startTestDaemon, tempHome, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { alive, identify } from "../helpers/fixtures.js";

let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon()));
after(() => daemon.stop());

test("connect takes the handoff when asked, the reconnect otherwise; both serve requests", async () => {
  const handedOff = await connect("echo", { home: daemon.home, autostart: false });
  const reconnected = await connect("echo", { home: daemon.home, autostart: false, handoff: false });
  assert.equal(handedOff.path, "handoff");
  assert.equal(reconnected.path, "reconnect");
  const replies = await Promise.all([
    handedOff.request(Lane.ECHO, Buffer.from("one")),
    reconnected.request(Lane.ECHO, Buffer.from("two")),
    handedOff.request(Lane.ECHO, Buffer.alloc(1024 * 1024, 7)),
  ]);
  assert.deepEqual(
    replies.map((r) => r.length),
    [3, 3, 1024 * 1024],
  );
  assert.equal(replies[1]!.toString(), "two");
  handedOff.close();
  reconnected.close();
});

test("requests on one connection are matched to their responses whatever the interleaving", async () => {
  const c = await connect("echo", { home: daemon.home, autostart: false });
  const payloads = Array.from({ length: 200 }, (_, i) => Buffer.from(`payload-${i}-`.repeat(i % 7)));
  const replies = await Promise.all(payloads.map((p) => c.request(Lane.ECHO, p)));
  assert.deepEqual(replies, payloads);
  c.close();
});

test("a request that times out rejects with QUIRE_ERR_TIMEOUT and the connection stays usable", async () => {
  const c = await connect("echo", { home: daemon.home, autostart: false });
  // A zero timeout fires before any answer can arrive; the late answer is dropped.
  await assert.rejects(c.request(Lane.ECHO, Buffer.alloc(8 * 1024 * 1024), { timeoutMs: 0 }), { code: "QUIRE_ERR_TIMEOUT" });
  assert.equal((await c.request(Lane.ECHO, Buffer.from("ok"))).toString(), "ok");
  c.close();
});

test("a handoff the backend cannot take in time ends in a reconnect, not an error", async () => {
  const slow = await startTestDaemon(["--handoff-ack-timeout-ms", "0"]);
  const steps: string[] = [];
  const listen = (m: unknown) => steps.push((m as { step: string }).step);
  subscribe("quire:client:handshake", listen);
  try {
    const c = await connect("echo", { home: slow.home, autostart: false });
    // The request goes before the handoff has settled, and is sent again on the reconnect link.
    const echoed = c.request(Lane.ECHO, Buffer.from("made it"));
    assert.equal(await c.whenSettled(), "reconnect");
    assert.equal(c.path, "reconnect");
    assert.equal((await echoed).toString(), "made it");
    assert.deepEqual(steps, ["handoff-failed", "reconnect"]);
    const { metricsText } = await adminCall(AdminOp.METRICS, { home: slow.home });
    assert.match(metricsText, /quire_handoffs_total\{outcome="(failed|refused)"\} 1/);
    c.close();
  } finally {
    unsubscribe("quire:client:handshake", listen);
    await slow.stop();
  }
});

test("with autostart off and no daemon, connect fails with QUIRE_ERR_DAEMON_UNREACHABLE", async () => {
  const home = tempHome();
  try {
    await assert.rejects(connect("echo", { home, autostart: false }), { code: "QUIRE_ERR_DAEMON_UNREACHABLE" });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("connect starts the daemon when none runs", async () => {
  const home = tempHome();
  let daemonProcess: ProcessIdentity | undefined;
  try {
    const c = await connect("echo", { home, autostart: true, daemonArgs: ["--allow-root"] });
    assert.equal((await c.request(Lane.ECHO, Buffer.from("autostarted"))).toString(), "autostarted");
    daemonProcess = identify((await adminCall(AdminOp.STATUS, { home })).status!.pid);
    c.close();
  } finally {
    if (daemonProcess) {
      await adminCall(AdminOp.SHUTDOWN, { home }).catch(() => {});
      await eventually(() => !alive(daemonProcess!), "the autostarted daemon to exit");
    }
    rmSync(home, { recursive: true, force: true });
  }
});

test("an unknown service is a RefusedError with the wire code", async () => {
  await assert.rejects(
    connect("no-such-service", { home: daemon.home, autostart: false }),
    (error: Error & { code?: string; refusedCode?: number }) => {
      assert.equal(error.code, "QUIRE_ERR_REFUSED");
      assert.equal(error.refusedCode, 2);
      return true;
    },
  );
});
