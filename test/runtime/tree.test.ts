// kill() ends whole trees, whatever their members do; a reused pid is never signalled.
import assert from "node:assert/strict";
import { spawn as spawnChild } from "node:child_process";
import { test } from "node:test";
import { describe, signalProcess } from "../../src/runtime/processes.js";
import { run, spawn } from "../../src/runtime/index.js";
import { alive, eventually, fixture } from "../helpers/fixtures.js";

test("a child that ignores INT and TERM is killed after the grace period", async () => {
  const p = spawn(fixture("ignores-term.sh"), [], { killGraceMs: 300 });
  const pid = Number((await p.expect(/pid (\d+)/, { timeoutMs: 5_000 })).groups[0]);
  const result = await p.kill();
  assert.equal(result.signal, "SIGKILL");
  assert.equal(result.killed, true);
  assert.equal(alive(pid), false);
});

test("a grandchild left holding the PTY and ignoring HUP is gone after kill()", async () => {
  const p = spawn(fixture("leaves-grandchild.sh"), [], { killGraceMs: 300 });
  const grandchild = Number((await p.expect(/grandchild (\d+)/, { timeoutMs: 5_000 })).groups[0]);
  assert.equal(alive(grandchild), true);
  await p.kill();
  assert.equal(alive(grandchild), false);
  assert.equal(alive(p.pid), false);
});

test("a setsid'd grandchild holding the terminal is gone after kill()", async () => {
  const p = spawn(fixture("setsid-grandchild.sh"), ["stay"], { killGraceMs: 300 });
  const grandchild = Number((await p.expect(/grandchild (\d+)/, { timeoutMs: 5_000 })).groups[0]);
  assert.equal(alive(grandchild), true);
  await p.kill();
  assert.equal(alive(grandchild), false);
  assert.equal(alive(p.pid), false);
});

test("a setsid'd grandchild still holding the terminal is gone once the command ends", async () => {
  const p = spawn(fixture("setsid-grandchild.sh"), ["exit"], { killGraceMs: 300 });
  const grandchild = Number((await p.expect(/grandchild (\d+)/, { timeoutMs: 5_000 })).groups[0]);
  const result = await p.wait();
  assert.equal(result.exitCode, 0, "the command itself exited normally");
  assert.equal(alive(grandchild), false, "its leftover went with its terminal");
});

test("a leftover holding a pipe is ended, so the command's exit is not held up", async () => {
  const result = await run("sh", ["-c", "(trap '' HUP INT TERM; sleep 300) & echo $!"], { pty: false, killGraceMs: 300 });
  assert.equal(result.exitCode, 0);
  await eventually(() => !alive(Number(result.output.trim())), "the leftover to be gone");
});

test("a pid that now belongs to another process is never signalled", async () => {
  const bystander = spawnChild("sleep", ["30"], { stdio: "ignore" });
  try {
    const real = describe(bystander.pid!)!;
    // The identity a runtime kept for an earlier process that had this pid: same pid, other start time.
    const stale = { pid: real.pid, startTime: String(Number(real.startTime) - 1) };
    assert.equal(signalProcess(stale, "SIGKILL"), false);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(alive(bystander.pid!), true);
    assert.equal(signalProcess(real, "SIGKILL"), true);
    await eventually(() => !alive(bystander.pid!), "the real one to die");
  } finally {
    bystander.kill("SIGKILL");
  }
});

test("kill() of a command that already exited signals nothing", async () => {
  const p = spawn("true");
  await p.wait();
  const bystander = spawnChild("sleep", ["30"], { stdio: "ignore" });
  try {
    await p.kill();
    assert.equal(alive(bystander.pid!), true);
  } finally {
    bystander.kill("SIGKILL");
  }
});
