// Regression: killing many commands at once scanned /proc once per kill, synchronously (200 pty
// sessions took 44 s to end, one alone 0.03 s). Concurrent kills now share their scans.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { after, test } from "node:test";
import { signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { spawn, type Subprocess } from "../../src/runtime/index.js";
import { alive, identify } from "../helpers/fixtures.js";

const COMMANDS = 100;
const started: Subprocess[] = [];
const identities: ProcessIdentity[] = [];

after(() => {
  for (const id of identities) signalProcess(id, "SIGKILL");
  for (const p of started) void p.kill().catch(() => {});
});

test("100 concurrent kills of commands with children share /proc scans and leave nothing alive", async () => {
  for (let i = 0; i < COMMANDS; i++) {
    // A child in the background and one in the foreground: a tree, not a single process.
    started.push(spawn("sh", ["-c", 'sleep 300 & echo "child $!"; sleep 300'], { pty: i % 4 !== 0, killGraceMs: 2_000 }));
  }
  for (const p of started) {
    identities.push(identify(p.pid));
    identities.push(identify(Number((await p.expect(/child (\d+)/, { timeoutMs: 30_000 })).groups[0])));
  }
  assert.ok(identities.every(alive));

  const scans = { processes: 0, holders: 0 };
  const count = (message: unknown) => scans[(message as { scan: "processes" | "holders" }).scan]++;
  subscribe("quire:runtime:process-scan", count);
  try {
    const results = await Promise.all(started.map((p) => p.kill()));
    assert.ok(results.every((r) => r.killed));
  } finally {
    unsubscribe("quire:runtime:process-scan", count);
  }

  assert.deepEqual(identities.filter(alive), [], "every root and every child is gone");
  // Unshared, every kill scanned at least once (and again once its command had exited). A scan is
  // synchronous and quick, so it is shared by the kills that ask in the same tick: 14-21 scans here
  // with other work on the cores, and once 30 while a second test suite ran beside this one.
  assert.ok(scans.processes > 0);
  assert.ok(scans.processes < COMMANDS / 2, `${scans.processes} process-table scans for ${COMMANDS} kills`);
  assert.ok(scans.holders < COMMANDS / 2, `${scans.holders} descriptor scans for ${COMMANDS} kills`);
});
