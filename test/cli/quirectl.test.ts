// quirectl daemon start|stop|status|restart and status, through the real binary.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { after, test } from "node:test";
import { QUIRECTL, tempHome } from "../helpers/daemon.js";

const home = tempHome();
after(() => {
  quirectl(["daemon", "stop"]);
  rmSync(home, { recursive: true, force: true });
});

function quirectl(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [QUIRECTL, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, QUIRE_HOME: "", ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

test("status of a daemon that is not running exits 3 and says how to start it", () => {
  const r = quirectl(["status"]);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /quirectl daemon start/);
  const d = quirectl(["daemon", "status", "--json"]);
  assert.equal(d.code, 3);
  assert.equal(JSON.parse(d.stdout).running, false);
});

test("daemon start, status --json, restart, stop", () => {
  const started = quirectl(["daemon", "start", "--allow-root", "--json"]);
  assert.equal(started.code, 0, started.stderr);
  const { pid, started: didStart } = JSON.parse(started.stdout);
  assert.equal(didStart, true);

  const again = quirectl(["daemon", "start", "--allow-root", "--json"]);
  assert.equal(JSON.parse(again.stdout).started, false, "a second start finds the first");

  const status = quirectl(["status", "--json"]);
  assert.equal(status.code, 0);
  const s = JSON.parse(status.stdout);
  assert.equal(s.pid, pid);
  assert.match(s.started_at, /^\d{4}-\d\d-\d\dT.*Z$/);
  assert.ok(s.uptime_ms >= 0);
  assert.deepEqual(Object.keys(s.backends[0]).sort(), [
    "clients",
    "last_error",
    "pid",
    "restarts",
    "service",
    "socket",
    "started_at",
    "state",
  ]);
  assert.equal(s.backends[0].service, "echo");

  const human = quirectl(["status"]);
  assert.match(human.stdout, /^quired \S+ +pid \d+ +up /);
  assert.match(human.stdout, /SERVICE +STATE +PID +CLIENTS +RESTARTS/);

  const restarted = quirectl(["daemon", "restart", "--allow-root", "--json"]);
  assert.equal(restarted.code, 0, restarted.stderr);
  assert.notEqual(JSON.parse(restarted.stdout).pid, pid);

  const stopped = quirectl(["daemon", "stop", "--json"]);
  assert.equal(stopped.code, 0);
  assert.equal(JSON.parse(stopped.stdout).stopped, true);
  assert.equal(quirectl(["daemon", "status"]).code, 3);
});

test("a usage error exits 2", () => {
  assert.equal(quirectl(["no-such-command"]).code, 2);
  assert.equal(quirectl(["daemon"]).code, 2);
});
