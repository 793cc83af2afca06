// leftovers: "keep": what a command leaves running outlives its exit (a CI step's background server
// lives until its job ends), the exit still comes with every byte the command wrote and nothing of what
// its leftovers write later, and kill() (or Subprocess.killAll()) ends them afterwards.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { describe } from "../../src/runtime/processes.js";
import { spawn, Subprocess } from "../../src/runtime/index.js";
import { eventually } from "../helpers/eventually.js";
import { alive, fixture, identify } from "../helpers/fixtures.js";
import { Gate } from "../helpers/gate.js";

const dir = mkdtempSync(join(tmpdir(), "quire-keep-"));

// The leftover ignores SIGHUP from the moment it is forked: the kernel sends one to the terminal's
// foreground group when the command, the session's leader, exits, often before a child's own trap runs.
const HOLDER = `trap '' HUP INT TERM; (exec sleep 300) & echo "leftover $!"`;
after(() => rmSync(dir, { recursive: true, force: true }));

/** What a fixture's leftover looks like once it is out of reach of that SIGHUP (its trap run, its own group). */
const sleeping = (pid: number) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "sleep";
const leadsGroup = (pid: number) => describe(pid)?.pgrp === pid;

for (const { what, command, ready } of [
  { what: "holding the terminal, in the command's process group", command: ["sh", "-c", HOLDER] },
  { what: "holding the terminal, in a session of its own", command: [fixture("setsid-grandchild.sh"), "exit"], ready: () => true },
  { what: "holding nothing, in the command's process group", command: [fixture("leaves-background.sh")], ready: sleeping },
  { what: "holding nothing, in another group of the command's session", command: [fixture("leaves-other-group.sh")], ready: leadsGroup },
]) {
  test(`a leftover ${what} outlives the exit and is ended by kill() afterwards`, async () => {
    const p = spawn(command[0]!, command.slice(1), { leftovers: "keep", killGraceMs: 300 });
    const pid = Number((await p.expect(/(?:leftover|grandchild) (\d+)/, { timeoutMs: 5_000 })).groups[0]);
    const leftover = identify(pid);
    // The fixtures exit once they read a line: once the leftover is safe from the exit's SIGHUP.
    if (ready) {
      await eventually(() => ready(pid), "the leftover to be out of reach of the exit's SIGHUP", 5_000);
      await p.write("\n");
    }
    const result = await p.wait();
    assert.equal(result.exitCode, 0);
    assert.equal(alive(leftover), true, "the exit left it running");
    assert.equal(await p.kill(), result, "the result stays the command's");
    assert.equal(alive(leftover), false, "kill() after the exit ended it");
  });
}

test("a kept leftover writing to the terminal after the exit neither blocks nor fails, and none of it is output", async () => {
  const done = join(dir, "wrote");
  const exited = new Gate(dir, "exited");
  // 1 MiB once the exit is reported: far more than the terminal's buffers, so a terminal nobody read would block it.
  const script = `trap '' HUP; echo started; (${exited.wait}; head -c 1048576 /dev/zero | tr '\\0' x && echo ok > ${done}; exec sleep 300) & echo "leftover $!"`;
  const p = spawn("sh", ["-c", script], { leftovers: "keep", killGraceMs: 300 });
  const chunks: Buffer[] = [];
  p.on("data", (chunk: Buffer) => chunks.push(chunk));
  const leftover = identify(Number((await p.expect(/leftover (\d+)/, { timeoutMs: 5_000 })).groups[0]));
  const result = await p.wait();
  const seen = Buffer.concat(chunks).toString();
  exited.open();
  await eventually(() => existsSync(done), "the leftover to write all of it", 20_000);
  assert.equal(alive(leftover), true);
  assert.equal(Buffer.concat(chunks).toString(), seen, "nothing it wrote after the exit was emitted");
  assert.ok(!seen.includes("x"), "its output came after the exit");
  assert.match(result.output, /^started\r\nleftover \d+\r\n$/);
  await p.kill();
  assert.equal(alive(leftover), false);
});

test("Subprocess.killAll() ends what commands that exited kept", async () => {
  const p = spawn("sh", ["-c", HOLDER], { leftovers: "keep", killGraceMs: 300 });
  const leftover = identify(Number((await p.expect(/leftover (\d+)/, { timeoutMs: 5_000 })).groups[0]));
  await p.wait();
  assert.equal(alive(leftover), true);
  assert.equal(await Subprocess.killAll(), 0);
  assert.equal(alive(leftover), false);
});

test("ending what commands kept, when they kept nothing, scans no process table, even right after the exit", async () => {
  const scans = { processes: 0, holders: 0, window: 0 };
  const count = (message: unknown) => scans[(message as { scan: keyof typeof scans }).scan]++;
  subscribe("quire:runtime:process-scan", count);
  try {
    for (let i = 0; i < 10; i++) {
      const p = spawn("sh", ["-c", "echo $$"], { leftovers: "keep" });
      assert.equal((await p.wait()).exitCode, 0);
      await p.kill();
    }
  } finally {
    unsubscribe("quire:runtime:process-scan", count);
  }
  assert.deepEqual({ processes: scans.processes, holders: scans.holders }, { processes: 0, holders: 0 });
});

test('leftovers is "end" or "keep", and keeping needs a terminal', () => {
  assert.throws(() => spawn("true", [], { leftovers: "stay" as "keep" }), { code: "QUIRE_ERR_INVALID_OPTION", message: /leftovers/ });
  assert.throws(() => spawn("true", [], { leftovers: "keep", pty: false }), { code: "QUIRE_ERR_INVALID_OPTION", message: /leftovers/ });
});
