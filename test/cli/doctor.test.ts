// quirectl doctor: each check a finding { check, ok, detail, fix }, exit 1 when any fails, and it never
// starts the daemon.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { SCHEMA_VERSION } from "../../src/ci/store/index.js";
import { QUIRED, startTestDaemon, tempHome } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

const repos = tempRepos();
const cleanup: string[] = [];
after(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

/** A systemd user directory holding quired.service with this ExecStart. */
function unitDir(execStart: string | undefined): string {
  const dir = mkdtempSync(join(tmpdir(), "quire-units-"));
  cleanup.push(dir);
  if (execStart !== undefined)
    writeFileSync(join(dir, "quired.service"), `[Unit]\nDescription=quire\n\n[Service]\nExecStart=${execStart}\n`);
  return dir;
}

function check(report: { checks: { check: string }[] }, name: string): { check: string; ok: boolean; detail: string; fix: string | null } {
  const found = report.checks.find((c) => c.check === name);
  assert.ok(found, `no ${name} check in ${JSON.stringify(report)}`);
  return found as never;
}

describe("against a running daemon", () => {
  test("a healthy daemon with a store and an installed unit: every check ok, exit 0", async () => {
    const daemon = await startTestDaemon();
    try {
      const repo = repos.make({ "quire.yml": "jobs:\n  a:\n    steps: [ 'echo hi' ]\n" });
      await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--wait"]);
      const env = { QUIRE_SYSTEMD_USER_DIR: unitDir(`${process.execPath} ${QUIRED}`) };
      const report = await quirectlJson(daemon.home, ["doctor"], 0, { env });
      assert.equal(report.ok, true, JSON.stringify(report, null, 2));
      for (const c of report.checks) assert.deepEqual(Object.keys(c).sort(), ["check", "detail", "fix", "ok"]);
      assert.match(check(report, "daemon").detail, /ready/);
      assert.match(check(report, "backend ci").detail, /^ready pid \d+/);
      assert.match(check(report, "store").detail, new RegExp(`integrity ok, schema ${SCHEMA_VERSION}`));
      assert.match(check(report, "socket").detail, /answers/);

      const human = await quirectl(daemon.home, ["doctor"], { env });
      assert.equal(human.code, 0, human.stderr);
      assert.match(human.stdout, /^✓ node +v\d+/m);
      assert.match(human.stdout, /everything looks right/);
    } finally {
      await daemon.stop();
    }
  });
});

describe("without a daemon", () => {
  test("no unit installed: autostart fails with quirectl daemon install as the fix; doctor does not start quired", async () => {
    const home = tempHome();
    cleanup.push(home);
    const env = { QUIRE_SYSTEMD_USER_DIR: unitDir(undefined), QUIRE_NO_AUTOSTART: "" };
    const r = await quirectl(home, ["doctor", "--json"], { env });
    assert.equal(r.code, 1, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.equal(report.ok, false);
    const autostart = check(report, "autostart");
    assert.equal(autostart.ok, false);
    assert.equal(autostart.fix, "quirectl daemon install");
    assert.equal(check(report, "daemon").ok, true, "not running is fine while autostart is on");
    assert.equal(existsSync(join(home, "quired.sock")), false, "doctor started the daemon");

    const human = await quirectl(home, ["doctor"], { env });
    assert.equal(human.code, 1);
    assert.match(human.stdout, /^✗ autostart .*\n +fix: quirectl daemon install$/m);
  });

  test("a unit that runs another install's quired is a finding", async () => {
    const home = tempHome();
    cleanup.push(home);
    const report = await quirectlJson(home, ["doctor"], 1, {
      env: { QUIRE_SYSTEMD_USER_DIR: unitDir("/usr/bin/node /elsewhere/bin/quired.js") },
    });
    const autostart = check(report, "autostart");
    assert.equal(autostart.ok, false);
    assert.match(autostart.detail, /\/elsewhere\/bin\/quired\.js/);
    assert.equal(autostart.fix, "quirectl daemon install");
  });

  test("a backend that was killed is named, with how it died", async () => {
    const daemon = await startTestDaemon();
    try {
      const ps = await quirectl(daemon.home, ["ps"]); // any pty command starts the pty backend
      assert.equal(ps.code, 0, ps.stderr);
      const [pid] = await daemon.backendPids();
      process.kill(pid!, "SIGKILL");
      const env = { QUIRE_SYSTEMD_USER_DIR: unitDir(`${process.execPath} ${QUIRED}`) };
      let report: any;
      // The broker notices the death at once and respawns the backend: wait for the restart to show.
      await eventually(
        async () => {
          report = JSON.parse((await quirectl(daemon.home, ["doctor", "--json"], { env })).stdout);
          return /restart/.test(check(report, "backend pty").detail);
        },
        () => `doctor to show the restart; it says: ${check(report, "backend pty").detail}`,
      );
      const backend = check(report, "backend pty");
      assert.equal(backend.ok, false);
      assert.match(backend.detail, /1 restart .*SIGKILL/);
      assert.match(backend.fix!, /quirectl daemon log/);
    } finally {
      await daemon.stop();
    }
  });

  test("a stale socket, a loose socket directory, a store from a newer quire", async () => {
    const home = tempHome();
    cleanup.push(home);
    chmodSync(home, 0o755);
    // A listener that dies without unlinking its socket leaves a stale one.
    const sock = join(home, "quired.sock");
    const listener = spawn(
      process.execPath,
      ["-e", `require("net").createServer().listen(${JSON.stringify(sock)}, () => process.stdout.write("up"))`],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    await new Promise((resolve) => listener.stdout!.once("data", resolve));
    listener.kill("SIGKILL");
    await new Promise((resolve) => listener.once("exit", resolve));
    const db = new Database(join(home, "quire.db"));
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();

    const env = { QUIRE_SYSTEMD_USER_DIR: unitDir(`${process.execPath} ${QUIRED}`) };
    const report = await quirectlJson(home, ["doctor"], 1, { env });
    const socket = check(report, "socket");
    assert.equal(socket.ok, false);
    assert.match(socket.detail, /stale/);
    assert.match(socket.fix!, /quirectl daemon start/);
    const dir = check(report, "socket directory");
    assert.equal(dir.ok, false);
    assert.match(dir.detail, /0755/);
    assert.equal(dir.fix, `chmod 700 ${home}`);
    const store = check(report, "store");
    assert.equal(store.ok, false);
    assert.match(store.detail, new RegExp(`schema ${SCHEMA_VERSION + 1}, newer`));
    assert.equal(check(report, "node").ok, true);
    assert.equal(check(report, "better-sqlite3").ok, true);
  });

  test("a store that is not a database is a finding, not a crash", async () => {
    const home = tempHome();
    cleanup.push(home);
    mkdirSync(home, { recursive: true });
    writeFileSync(join(home, "quire.db"), "this is not a database, just text long enough to have a header".repeat(20));
    const report = await quirectlJson(home, ["doctor"], 1, { env: { QUIRE_SYSTEMD_USER_DIR: unitDir(`${process.execPath} ${QUIRED}`) } });
    const store = check(report, "store");
    assert.equal(store.ok, false);
    assert.match(store.detail, /cannot be opened|integrity/);
  });
});
