// Diagnostics for people who debug an embedding: the diagnostics_channel channels quire publishes on,
// each seen by a subscriber, and util.debuglog('quire') output under NODE_DEBUG=quire.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, before, test } from "node:test";
import { connect } from "../src/client/connect.js";
import { spawn } from "../src/runtime/index.js";
import { startTestDaemon, type TestDaemon } from "./helpers/daemon.js";

let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon()));
after(() => daemon.stop());

/** Messages published on `name` while `action` runs. */
async function collect(name: string, action: () => Promise<void>): Promise<Record<string, unknown>[]> {
  const seen: Record<string, unknown>[] = [];
  const onMessage = (message: unknown) => void seen.push(message as Record<string, unknown>);
  subscribe(name, onMessage);
  try {
    await action();
  } finally {
    unsubscribe(name, onMessage);
  }
  return seen;
}

test("quire:client:handoff: one message per connection, with its service, path and duration", async () => {
  const seen = await collect("quire:client:handoff", async () => {
    for (const handoff of [true, false]) {
      const c = await connect("echo", { home: daemon.home, autostart: false, handoff });
      await c.whenSettled();
      c.close();
    }
  });
  assert.deepEqual(
    seen.map((m) => [m.service, m.path]),
    [
      ["echo", "handoff"],
      ["echo", "reconnect"],
    ],
  );
  for (const m of seen) assert.ok(typeof m.durationMs === "number" && m.durationMs >= 0);
});

test("quire:runtime:terminate: a kill is announced with the pid, the signal and why", async () => {
  let pid = 0;
  const seen = await collect("quire:runtime:terminate", async () => {
    const child = spawn("sleep", ["30"], { pty: false });
    pid = child.pid;
    await child.kill();
  });
  const first = seen.find((m) => m.pid === pid);
  assert.ok(first, `no terminate message for pid ${pid}: ${JSON.stringify(seen)}`);
  assert.equal(first.reason, "kill");
  assert.equal(first.signal, process.platform === "win32" ? "taskkill" : "SIGINT");
});

test("quire:runtime:process-scan: a scan of the process table is announced", {
  skip: process.platform !== "linux" && process.platform !== "darwin",
}, async () => {
  const seen = await collect("quire:runtime:process-scan", async () => {
    await spawn("sleep", ["30"], { pty: false }).kill();
  });
  assert.ok(
    seen.some((m) => m.scan === "processes"),
    JSON.stringify(seen),
  );
});

test("NODE_DEBUG=quire: the runtime says what it spawned and how it ended", () => {
  const url = new URL("../src/runtime/index.js", import.meta.url).href;
  const script = `const { run } = await import(${JSON.stringify(url)}); await run("true", [], { pty: false });`;
  const { stderr, status } = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    env: { ...process.env, NODE_DEBUG: "quire" },
    encoding: "utf8",
  });
  assert.equal(status, 0, stderr);
  assert.match(stderr, /QUIRE \d+: runtime: spawned .*true as pid \d+ \(pipes\)/);
  assert.match(stderr, /QUIRE \d+: runtime: pid \d+ exited \(code 0/);
});
