// A backend whose broker dies finishes its work and exits: nothing a service started outlives them.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { PtyClient } from "../../src/client/pty.js";
import { startTestDaemon, tempHome } from "../helpers/daemon.js";
import { signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { eventually } from "../helpers/eventually.js";
import { alive, identify } from "../helpers/fixtures.js";

test("SIGKILL quired: the pty backend ends its sessions' trees, even ones that ignore SIGHUP, and exits", async () => {
  const daemon = await startTestDaemon();
  try {
    const c = await PtyClient.connect({ home: daemon.home, autostart: false });
    await c.start({ name: "stubborn", file: "sh", args: ["-c", "trap '' HUP INT; echo \"pid $$\"; exec sleep 300"] });
    let output = "";
    const tail = await c.tail("stubborn", true, (d) => (output += d.toString()));
    output = tail.backlog.toString() + output;
    await eventually(() => /pid \d+/.test(output), "the session to say its pid");
    const session = identify(Number(output.match(/pid (\d+)/)![1]));
    const backends = (await daemon.backendPids()).map(identify);
    c.close();

    daemon.process.kill("SIGKILL");
    await daemon.exited;
    try {
      await eventually(() => !alive(session), "the session's process to be gone", 15_000);
      await eventually(() => backends.every((b) => !alive(b)), "the backends to exit", 15_000);
    } catch (error) {
      const log = readFileSync(daemon.places.logFile, "utf8").split("\n").slice(-15).join("\n");
      const living = backends.filter(alive).map((b) => b.pid);
      throw new Error(`${(error as Error).message}; backends alive: ${living.join(", ") || "none"}; quired.log ends:\n${log}`);
    } finally {
      signalProcess(session, "SIGKILL");
    }
  } finally {
    await daemon.stop();
  }
});

// The drain's grace can run out before the kill of a session's tree has sent a signal the tree cannot
// ignore (on a loaded machine, each round's scan of /proc takes seconds). A zero grace makes that certain
// here: the tree ignores everything but SIGKILL, which the kill's own rounds send only after killGraceMs.
test("SIGKILL quired, drain grace runs out: the pty backend SIGKILLs its sessions' trees and exits only once they are gone", async () => {
  const daemon = await startTestDaemon([], tempHome(), { QUIRE_ORPHAN_GRACE_MS: "0" });
  const tree: ProcessIdentity[] = [];
  try {
    const c = await PtyClient.connect({ home: daemon.home, autostart: false });
    await c.start({ name: "deaf", file: "sh", args: ["-c", "trap '' HUP INT TERM; sleep 300 & echo \"pids $$ $!\"; wait"] });
    let output = "";
    const tail = await c.tail("deaf", true, (d) => (output += d.toString()));
    output = tail.backlog.toString() + output;
    await eventually(() => /pids \d+ \d+/.test(output), "the session to say its pids");
    tree.push(
      ...output
        .match(/pids (\d+) (\d+)/)!
        .slice(1)
        .map((pid) => identify(Number(pid))),
    );
    const backend = identify((await daemon.backendPids())[0]!);
    c.close();

    daemon.process.kill("SIGKILL");
    await daemon.exited;
    await eventually(() => !alive(backend), "the backend to exit", 60_000);
    // No waiting here: by the time the backend is gone, every process of the tree must be. (Its log lines
    // are not checked: one written at once after the broker's death can go into the stderr pipe just
    // before the dead broker's end of it is closed, and be lost; seen under load.)
    assert.deepEqual(
      tree.filter(alive).map((p) => p.pid),
      [],
      "processes of the session outlived its backend",
    );
  } finally {
    for (const p of tree) signalProcess(p, "SIGKILL");
    await daemon.stop();
  }
});

// Regression: the backend answered a question on the dead broker's channel and died of the EPIPE ('error' on
// process, no listener) before draining, leaving sessions that ignore SIGHUP behind. The answer is made
// certain: the backend is stopped, the broker asks it for its metrics (METRICS answers without them once it
// has waited for them, so the question is on the channel by then), the broker is SIGKILLed, and the backend,
// let go, reads the question before the channel's end and answers it at once.
test("SIGKILL quired while the pty backend owes it an answer: the backend drains instead of dying of EPIPE", async (t) => {
  const daemon = await startTestDaemon();
  const spawned: ProcessIdentity[] = [];
  t.after(async () => {
    for (const p of spawned) signalProcess(p, "SIGKILL");
    await daemon.stop();
  });
  const c = await PtyClient.connect({ home: daemon.home, autostart: false });
  await c.start({ name: "stubborn", file: "sh", args: ["-c", "trap '' HUP INT; echo \"pid $$\"; exec sleep 300"] });
  let output = "";
  const tail = await c.tail("stubborn", true, (d) => (output += d.toString()));
  output = tail.backlog.toString() + output;
  await eventually(() => /pid \d+/.test(output), "the session to say its pid");
  const session = identify(Number(output.match(/pid (\d+)/)![1]));
  spawned.push(session);
  const backend = identify((await daemon.backendPids())[0]!);
  spawned.push(backend);
  c.close();

  signalProcess(backend, "SIGSTOP");
  const { metricsText } = await adminCall(AdminOp.METRICS, { home: daemon.home });
  assert.doesNotMatch(metricsText, /^quire_pty_sessions/m, "the stopped backend answered");
  daemon.process.kill("SIGKILL");
  await daemon.exited;
  signalProcess(backend, "SIGCONT");
  await eventually(() => !alive(backend), "the backend to exit", 15_000);
  await eventually(() => !alive(session), "the session's process to be gone", 15_000);
  const log = readFileSync(daemon.places.logFile, "utf8");
  const drained = log
    .split("\n")
    .some((line) => line.includes('"backend exiting"') && line.includes(`"pid":${backend.pid},`) && line.includes('"why":"drained"'));
  assert.ok(drained, `the backend did not drain; quired.log ends:\n${log.split("\n").slice(-15).join("\n")}`);
});
