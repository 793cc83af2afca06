// The daemon's life cycle: SIGTERM and SIGINT drain as SHUTDOWN does; backends idle for --backend-idle-ms
// stop and start again on the next Hello (never pty while it holds sessions, never ci while a run is
// live); --exit-when-idle ends a daemon nothing uses, and only autostart passes it.
import assert from "node:assert/strict";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { PtyClient } from "../../src/client/pty.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, tempHome } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { Gate } from "../helpers/gate.js";
import { alive, identify } from "../helpers/fixtures.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

const repos = tempRepos();
const cleanup: string[] = [];
after(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

async function backend(home: string, service: string) {
  const { status } = await adminCall(AdminOp.STATUS, { home, timeoutMs: 2_000 });
  return status!.backends.find((b) => b.service === service)!;
}

/**
 * Uses `service` once and waits until its backend has been stopped for idleness. The broker checks each
 * backend --backend-idle-ms after its last Hello, in that order, so every backend used before this one has
 * had its check begun by then (a pty or ci check waits for its service's answer, which comes long before
 * this backend has drained and exited): one still running afterwards was found not idle.
 */
async function idleCheckPassed(home: string, service: "echo" | "pty"): Promise<void> {
  const client = await connect(service, { home, autostart: false });
  await client.whenSettled();
  client.close();
  await eventually(async () => (await backend(home, service)).state === "stopped", `the idle ${service} backend to stop`);
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} drains as SHUTDOWN does: sessions end, backends drain, quired exits 0 and removes its socket`, async () => {
    const daemon = await startTestDaemon();
    try {
      const ptys = await PtyClient.connect({ home: daemon.home, autostart: false });
      const started = await ptys.start({ name: "s", file: "sleep", args: ["300"] });
      const session = identify(started.pid);
      const backends = (await daemon.backendPids()).map(identify);
      ptys.close();
      daemon.process.kill(signal);
      assert.equal(await daemon.exited, 0);
      assert.equal(existsSync(daemon.places.socket), false);
      await eventually(() => !alive(session) && backends.every((b) => !alive(b)), "the session and the backend to be gone");
      const log = readFileSync(daemon.places.logFile, "utf8");
      assert.match(log, /"msg":"draining"/);
      assert.match(log, /"msg":"backend exiting","service":"pty","why":"drained"/);
      assert.match(log, /"msg":"quired stopped"/);
    } finally {
      await daemon.stop();
    }
  });
}

test("an idle backend stops and the next Hello starts it again; pty with a session and ci with a live run stay", async () => {
  const daemon = await startTestDaemon(["--backend-idle-ms", "300"]);
  try {
    const echo = await connect("echo", { home: daemon.home, autostart: false });
    await echo.request(Lane.ECHO, Buffer.from("x"));
    const firstPid = (await backend(daemon.home, "echo")).pid;
    await idleCheckPassed(daemon.home, "pty");
    assert.equal((await backend(daemon.home, "echo")).state, "ready", "a backend with a client is not idle");
    assert.equal((await backend(daemon.home, "echo")).pid, firstPid);
    echo.close();
    await eventually(async () => (await backend(daemon.home, "echo")).state === "stopped", "the idle echo backend to stop");
    const { metricsText } = await adminCall(AdminOp.METRICS, { home: daemon.home });
    assert.match(metricsText, /^quire_backend_idle_stops_total\{service="echo"\} 1$/m);
    const again = await connect("echo", { home: daemon.home, autostart: false });
    assert.equal((await again.request(Lane.ECHO, Buffer.from("y"))).toString(), "y");
    const second = await backend(daemon.home, "echo");
    assert.equal(second.state, "ready");
    assert.notEqual(second.pid, firstPid);
    again.close();

    // pty: a session keeps it; once the session is gone it stops.
    const ptys = await PtyClient.connect({ home: daemon.home, autostart: false });
    await ptys.start({ name: "keep", file: "sleep", args: ["300"] });
    ptys.close();
    const ptyPid = (await backend(daemon.home, "pty")).pid;
    await idleCheckPassed(daemon.home, "echo");
    const pty = await backend(daemon.home, "pty");
    assert.equal(pty.state, "ready", "pty stopped while it held a session");
    assert.equal(pty.pid, ptyPid);
    const killer = await PtyClient.connect({ home: daemon.home, autostart: false });
    await killer.kill("keep");
    killer.close();
    await eventually(async () => (await backend(daemon.home, "pty")).state === "stopped", "the pty backend without sessions to stop");

    // ci: a live run keeps it.
    const gate = new Gate(repos.dirOutsideTmp("gate"));
    const repo = repos.make({ "quire.yml": `jobs:\n  a:\n    steps: [ ${JSON.stringify(gate.wait)} ]\n` });
    const run = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml")]);
    const ciPid = (await backend(daemon.home, "ci")).pid;
    await idleCheckPassed(daemon.home, "echo");
    const ci = await backend(daemon.home, "ci");
    assert.equal(ci.state, "ready", "ci stopped while a run was live");
    assert.equal(ci.pid, ciPid);
    assert.ok(["pending", "active"].includes((await quirectlJson(daemon.home, ["runs", "show", String(run.id)])).state), "the run is live");
    gate.open();
    await eventually(async () => (await backend(daemon.home, "ci")).state === "stopped", "the ci backend to stop once the run ended");
    assert.equal((await quirectlJson(daemon.home, ["runs", "show", String(run.id)])).state, "complete");
  } finally {
    await daemon.stop();
  }
});

test("--exit-when-idle: quired exits 0 once its backends have stopped and nothing connects", async () => {
  const daemon = await startTestDaemon(["--backend-idle-ms", "200", "--exit-when-idle", "400"]);
  try {
    const echo = await connect("echo", { home: daemon.home, autostart: false });
    await echo.request(Lane.ECHO, Buffer.from("x"));
    echo.close();
    const code = await Promise.race([daemon.exited, new Promise((r) => setTimeout(() => r("still running"), 10_000))]);
    assert.equal(code, 0);
    assert.match(readFileSync(daemon.places.logFile, "utf8"), /"msg":"idle: exiting"/);
  } finally {
    await daemon.stop();
  }
});

test("autostart passes --exit-when-idle; quirectl daemon start does not", async () => {
  const home = tempHome();
  cleanup.push(home);
  const cmdline = async () => {
    const { status } = await adminCall(AdminOp.STATUS, { home });
    return readFileSync(`/proc/${status!.pid}/cmdline`, "utf8").split("\0");
  };
  const env = { QUIRE_NO_AUTOSTART: "", QUIRE_ALLOW_ROOT: "1" };
  try {
    const ps = await quirectl(home, ["ps"], { env });
    assert.equal(ps.code, 0, ps.stderr);
    assert.ok((await cmdline()).includes("--exit-when-idle"), "an autostarted quired is not told to exit when idle");
    assert.equal((await quirectl(home, ["daemon", "stop"], { env })).code, 0);
    const start = await quirectl(home, ["daemon", "start"], { env });
    assert.equal(start.code, 0, start.stderr);
    assert.ok(!(await cmdline()).includes("--exit-when-idle"), "quirectl daemon start passed --exit-when-idle");
  } finally {
    await quirectl(home, ["daemon", "stop"], { env });
  }
});
