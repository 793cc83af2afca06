// Regression: as root, only `quirectl daemon start` took --allow-root; `quirectl start` (which starts
// quired on first use) failed and told the user to pass a flag it did not accept. --allow-root is now a
// global quirectl option (and QUIRE_ALLOW_ROOT=1) that autostart passes on, and the refusal names the
// exact command to run.
// Regression: that refusal exited 1 where README's table says a daemon that cannot be had is 3; a quired
// that will not start is unreachable from the command's side, so it is 3, as for any quired that fails to start.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { after, test } from "node:test";
import { probeSocket } from "../../src/core/socket-probe.js";
import { resolvePlaces } from "../../src/core/places.js";
import { describe, signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { QUIRECTL, tempHome } from "../helpers/daemon.js";

const notRoot = process.getuid?.() !== 0 && "only root is refused";
const homes: string[] = [];
/** quired and its backends, by pid and start time, to end whatever `daemon stop` leaves. */
const started: ProcessIdentity[] = [];

after(() => {
  for (const home of homes) {
    quirectl(home, ["daemon", "stop"]);
    rmSync(home, { recursive: true, force: true });
  }
  for (const id of started) signalProcess(id, "SIGKILL");
});

function quirectl(home: string, args: string[], env: Record<string, string> = {}) {
  const { QUIRE_ALLOW_ROOT: _, ...inherited } = process.env;
  const r = spawnSync(process.execPath, [QUIRECTL, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...inherited, QUIRE_HOME: "", ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function remember(home: string): void {
  const status = JSON.parse(quirectl(home, ["status", "--json"]).stdout);
  for (const pid of [status.pid, ...status.backends.map((b: { pid: number | null }) => b.pid)]) {
    const info = pid ? describe(pid) : undefined;
    if (info) started.push({ pid, startTime: info.startTime });
  }
}

function newHome(): string {
  const home = tempHome();
  homes.push(home);
  return home;
}

test("as root, quirectl start without --allow-root names the exact command, and starts nothing", { skip: notRoot }, async () => {
  const home = newHome();
  const r = quirectl(home, ["start", "web", "--", "sh", "-c", "echo 'hi there'; sleep 30"]);
  assert.equal(r.code, 3, r.stderr);
  assert.ok(r.stderr.includes(`quirectl --allow-root --home ${home} start web -- sh -c 'echo '\\''hi there'\\''; sleep 30'`), r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.equal(await probeSocket(resolvePlaces({ home }).socket), false, "no quired was left running");
  const started = quirectl(home, ["daemon", "start", "--json"]);
  assert.equal(started.code, 3, started.stderr);
  assert.equal(JSON.parse(started.stdout).error.code, "QUIRE_ERR_DAEMON_START");
  assert.ok(started.stderr.includes(`quirectl --allow-root --home ${home} daemon start --json`), started.stderr);
});

test("as root, quirectl --allow-root start autostarts quired and runs the session", { skip: notRoot }, () => {
  const home = newHome();
  const r = quirectl(home, ["--allow-root", "start", "web", "--", "sleep", "30"]);
  assert.equal(r.code, 0, r.stderr);
  remember(home);
  const sessions = JSON.parse(quirectl(home, ["ps", "--json"]).stdout);
  assert.equal(sessions.find((s: { name: string }) => s.name === "web")?.state, "running");
});

test("as root, QUIRE_ALLOW_ROOT=1 does the same for any command that autostarts", { skip: notRoot }, () => {
  const home = newHome();
  const r = quirectl(home, ["ps", "--json"], { QUIRE_ALLOW_ROOT: "1" });
  assert.equal(r.code, 0, r.stderr);
  remember(home);
  assert.deepEqual(JSON.parse(r.stdout), []);
});
