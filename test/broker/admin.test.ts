// The admin lane: status, health, readiness, metrics, and SHUTDOWN's drain.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { Refused_Code } from "../../src/gen/quire/v1/hello.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon } from "../helpers/daemon.js";
import { alive, identify } from "../helpers/fixtures.js";

test("STATUS, HEALTHZ, READYZ and METRICS describe the running daemon", async () => {
  const daemon = await startTestDaemon();
  try {
    const client = await connect("echo", { home: daemon.home, autostart: false });
    await client.request(Lane.ECHO, Buffer.from("x"));
    const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home });
    assert.equal(status!.pid, daemon.process.pid);
    assert.equal(status!.socket, daemon.places.socket);
    const echo = status!.backends.find((b) => b.service === "echo")!;
    assert.equal(echo.state, "ready");
    assert.equal(echo.clients, 1);
    assert.ok(echo.pid > 0);
    assert.equal((await adminCall(AdminOp.HEALTHZ, { home: daemon.home })).ok, true);
    assert.equal((await adminCall(AdminOp.READYZ, { home: daemon.home })).ok, true);
    const { metricsText } = await adminCall(AdminOp.METRICS, { home: daemon.home });
    assert.match(metricsText, /^quire_negotiated_total\{path="handoff"\} 1$/m);
    assert.match(metricsText, /^quire_handoffs_total\{outcome="accepted"\} 1$/m);
    assert.match(metricsText, /^quire_backend_up\{service="echo"\} 1$/m);
    client.close();
  } finally {
    await daemon.stop();
  }
});

test("SHUTDOWN drains: clients are told why, backends exit, quired exits 0 and removes its socket", async () => {
  const daemon = await startTestDaemon();
  try {
    const client = await connect("echo", { home: daemon.home, autostart: false });
    await client.whenSettled();
    const backend = identify((await daemon.backendPids())[0]!);
    const closed = new Promise<Error>((resolve) => client.once("close", resolve));
    const reply = await adminCall(AdminOp.SHUTDOWN, { home: daemon.home });
    assert.equal(reply.ok, true);
    assert.match((await closed).message, /shutting down/);
    assert.equal(await daemon.exited, 0);
    assert.equal(alive(backend), false);
    assert.equal(existsSync(daemon.places.socket), false);
  } finally {
    await daemon.stop();
  }
});

test("after SHUTDOWN new clients are told the daemon is going away, never left hanging", async () => {
  const daemon = await startTestDaemon(["--drain-grace-ms", "200"]);
  try {
    await adminCall(AdminOp.SHUTDOWN, { home: daemon.home });
    // Either the listener is already closed (unreachable) or the connection was accepted just before and
    // is refused with SHUTTING_DOWN: both are answers, not hangs.
    await assert.rejects(
      connect("echo", { home: daemon.home, autostart: false, timeoutMs: 2_000 }),
      (error: Error & { code?: string; refusedCode?: number }) => {
        assert.ok(
          error.code === "QUIRE_ERR_DAEMON_UNREACHABLE" || error.refusedCode === Refused_Code.SHUTTING_DOWN,
          `${error.code}: ${error.message}`,
        );
        return true;
      },
    );
    assert.equal(await daemon.exited, 0);
  } finally {
    await daemon.stop();
  }
});
