// kill() ends whole trees, whatever their members do; a reused pid is never signalled.
import assert from "node:assert/strict";
import { spawn as spawnChild } from "node:child_process";
import { once } from "node:events";
import { closeSync, openSync, readlinkSync } from "node:fs";
import { test } from "node:test";
import { collectTree, describe, signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { spawn, Subprocess } from "../../src/runtime/index.js";
import { eventually } from "../helpers/eventually.js";
import { alive, fixture, identify } from "../helpers/fixtures.js";

test("a child that ignores INT and TERM is killed after the grace period", async () => {
  const p = spawn(fixture("ignores-term.sh"), [], { killGraceMs: 300 });
  const child = identify(Number((await p.expect(/pid (\d+)/, { timeoutMs: 5_000 })).groups[0]));
  const result = await p.kill();
  assert.equal(result.signal, "SIGKILL");
  assert.equal(result.killed, true);
  assert.equal(alive(child), false);
});

for (const { what, fixtureName, args } of [
  { what: "a grandchild left holding the PTY and ignoring HUP", fixtureName: "leaves-grandchild.sh", args: [] },
  { what: "a setsid'd grandchild holding the terminal", fixtureName: "setsid-grandchild.sh", args: ["stay"] },
]) {
  test(`${what} is gone after kill()`, async () => {
    const p = spawn(fixture(fixtureName), args, { killGraceMs: 300 });
    const root = identify(p.pid);
    const grandchild = identify(Number((await p.expect(/grandchild (\d+)/, { timeoutMs: 5_000 })).groups[0]));
    assert.equal(alive(grandchild), true);
    await p.kill();
    assert.equal(alive(grandchild), false);
    assert.equal(alive(root), false);
  });
}

// Regression: a holder being killed closes its descriptors before it is dead, so the terminal closed and
// the exit was reported while the holder was still exiting (5 of 40 runs here).
test("a setsid'd grandchild still holding the terminal is gone once the command ends", async () => {
  const p = spawn(fixture("setsid-grandchild.sh"), ["exit"], { killGraceMs: 300 });
  const grandchild = identify(Number((await p.expect(/grandchild (\d+)/, { timeoutMs: 5_000 })).groups[0]));
  await p.write("\n"); // the command exits only now, with the grandchild holding the terminal
  const result = await p.wait();
  assert.equal(result.exitCode, 0, "the command itself exited normally");
  assert.equal(alive(grandchild), false, "its leftover went with its terminal");
});

test("a leftover holding a pipe is ended, so the command's exit is not held up", async () => {
  const p = spawn("sh", ["-c", "(trap '' HUP INT TERM; exec sleep 300) & echo \"leftover $!\"; sleep 0.3"], {
    pty: false,
    killGraceMs: 300,
  });
  const leftover = identify(Number((await p.expect(/leftover (\d+)/, { timeoutMs: 5_000 })).groups[0]));
  assert.equal((await p.wait()).exitCode, 0);
  assert.equal(alive(leftover), false, "the exit is reported once the leftover is gone");
});

test("a pid that now belongs to another process is never signalled", async () => {
  const bystander = spawnChild("sleep", ["30"], { stdio: "ignore" });
  try {
    const real = describe(bystander.pid!)!;
    // The identity a runtime kept for an earlier process that had this pid: same pid, other start time.
    const stale = { pid: real.pid, startTime: String(Number(real.startTime) - 1) };
    assert.equal(signalProcess(stale, "SIGKILL"), false);
    assert.equal(alive(real), true);
    // Whichever signal reaches it first ends it: a SIGKILL the stale identity let through, or this SIGTERM.
    const exited = once(bystander, "exit");
    assert.equal(signalProcess(real, "SIGTERM"), true);
    const [, signal] = await exited;
    assert.equal(signal, "SIGTERM", "the stale identity's SIGKILL reached the process");
  } finally {
    bystander.kill("SIGKILL");
  }
});

test("a session leader that took a dead root's pid is not mistaken for the root's session", async () => {
  // detached: the bystander leads a session of its own, numbered by its pid, as our roots do.
  const bystander = spawnChild("sleep", ["30"], { stdio: "ignore", detached: true });
  try {
    const real = describe(bystander.pid!)!;
    const deadRoot = { pid: real.pid, startTime: String(Number(real.startTime) - 1) };
    assert.deepEqual(await collectTree(deadRoot), []);
    assert.deepEqual(
      (await collectTree(real)).map((p) => p.pid),
      [real.pid],
    );
  } finally {
    bystander.kill("SIGKILL");
  }
});

test("kill() of a command that already exited signals nothing", async () => {
  const p = spawn("true");
  await p.wait();
  const bystander = spawnChild("sleep", ["30"], { stdio: "ignore" });
  try {
    const identity = identify(bystander.pid!);
    await p.kill();
    assert.equal(alive(identity), true);
  } finally {
    bystander.kill("SIGKILL");
  }
});

// Regression: with commands starting while another's terminal was scanned for holders, the fork of a new
// command (which holds copies of all our descriptors until it execs) was taken for a leftover of the
// other command and sent SIGINT: 7 of 1,500 short commands under load died that way.
test("a process of ours holding a command's terminal is not that command's leftover", async () => {
  const p = spawn("sh", ["-c", "echo ready; exec sleep 30"]);
  await p.expect(/ready/, { timeoutMs: 5_000 });
  const tty = readlinkSync(`/proc/${p.pid}/fd/0`);
  const fd = openSync(tty, "r+");
  const sibling = spawnChild("sleep", ["30"], { stdio: ["ignore", fd, "ignore"] });
  try {
    await eventually(() => readlinkSync(`/proc/${sibling.pid}/fd/1`) === tty, "the sibling to hold the terminal");
    const members = await collectTree(identify(p.pid), { tty });
    assert.deepEqual(
      members.map((m) => m.pid),
      [p.pid],
    );
  } finally {
    sibling.kill("SIGKILL");
    closeSync(fd);
    await p.kill();
  }
});

// What a backend whose drain ran out of grace calls before it exits: no tree may outlive it, and the
// trees' own kill() would still be waiting out killGraceMs.
test("Subprocess.killAll() SIGKILLs every unfinished tree at once and resolves once they are gone", async (t) => {
  const members: ProcessIdentity[] = [];
  t.after(() => {
    for (const m of members) signalProcess(m, "SIGKILL");
  });
  const slow = { killGraceMs: 600_000 };
  const deaf = spawn(fixture("ignores-term.sh"), [], slow);
  const holder = spawn(fixture("setsid-grandchild.sh"), ["stay"], slow);
  const piped = spawn("sh", ["-c", "trap '' HUP INT TERM; sleep 300 & echo \"child $!\"; wait"], { ...slow, pty: false });
  members.push(identify(deaf.pid), identify(holder.pid), identify(piped.pid));
  members.push(identify(Number((await holder.expect(/grandchild (\d+)/, { timeoutMs: 5_000 })).groups[0])));
  members.push(identify(Number((await piped.expect(/child (\d+)/, { timeoutMs: 5_000 })).groups[0])));
  await deaf.expect(/pid \d+/, { timeoutMs: 5_000 });
  void deaf.kill();

  assert.equal(await Subprocess.killAll(), 0);
  assert.deepEqual(
    members.filter(alive).map((m) => m.pid),
    [],
    "members outlived killAll()",
  );
  for (const p of [deaf, holder, piped]) assert.deepEqual(((r) => [r.killed, r.signal])(await p.wait()), [true, "SIGKILL"]);
  assert.equal(await Subprocess.killAll(), 0, "nothing is left to kill");
});
