// Regression: a command's exit no longer scans all of /proc for leftovers; the kernel's pid window says
// when nothing can be left (mayHaveMembers). Leftovers that let go of the terminal and the pipes must
// still be found and ended, in the command's process group or in another group of its session.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { test } from "node:test";
import { describe, forkMark, mayHaveMembers } from "../../src/runtime/processes.js";
import { run, spawn } from "../../src/runtime/index.js";
import { eventually } from "../helpers/eventually.js";
import { alive, fixture, identify } from "../helpers/fixtures.js";

for (const pty of [true, false]) {
  const via = pty ? "PTY" : "pipes";
  for (const { where, fixtureName, ownGroup } of [
    { where: "in the command's process group", fixtureName: "leaves-background.sh", ownGroup: false },
    { where: "in another group of the command's session", fixtureName: "leaves-other-group.sh", ownGroup: true },
  ]) {
    test(`a leftover ${where}, holding neither terminal nor pipes, is ended with the command (${via})`, async () => {
      const p = spawn(fixture(fixtureName), [], { pty, killGraceMs: 300 });
      const pid = Number((await p.expect(/leftover (\d+)/, { timeoutMs: 5_000 })).groups[0]);
      const leftover = identify(pid);
      // The case under test: not found by holding anything, nor (for the second) by kill(-pgid, 0).
      if (ownGroup) await eventually(() => describe(pid)?.pgrp === pid, "the leftover to lead a group of its own", 2_000);
      assert.equal(describe(pid)?.session, p.pid);
      await p.write("\n"); // the command exits only now, with its leftover seen
      assert.equal((await p.wait()).exitCode, 0);
      assert.equal(alive(leftover), false, "the leftover was ended before the result");
    });
  }
}

test("short commands that leave nothing behind end without a full /proc scan", async () => {
  const scans = { processes: 0, holders: 0, window: 0 };
  const count = (message: unknown) => scans[(message as { scan: keyof typeof scans }).scan]++;
  subscribe("quire:runtime:process-scan", count);
  try {
    for (let i = 0; i < 20; i++) {
      assert.equal((await run("true", [], { pty: i % 2 === 0 })).exitCode, 0);
      assert.equal((await run("sh", ["-c", "echo $$"], { pty: i % 2 === 0 })).exitCode, 0);
    }
  } finally {
    unsubscribe("quire:runtime:process-scan", count);
  }
  assert.deepEqual({ processes: scans.processes, holders: scans.holders }, { processes: 0, holders: 0 });
  assert.equal(scans.window, 40, "each exit looked at its pid window instead");
});

test("mayHaveMembers says maybe when too many processes were created to trust the pid window", async () => {
  const mark = forkMark();
  const p = spawn("sleep", ["0.2"]);
  const root = identify(p.pid);
  await p.wait();
  assert.equal(await mayHaveMembers(root, mark), false);
  // As if pids had been handed out all the way round since: the window proves nothing.
  assert.equal(await mayHaveMembers(root, -Infinity), true);
});
