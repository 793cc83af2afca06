// A full disk took CI down: with QUIRE_HOME on an 8 MB tmpfs and a step printing 50 MB, the ci backend died
// on an uncaught SQLITE_FULL (RunStore.finishRun, from the runner's internal-failure path), died the same
// way at each restart until the service was `failed`, and every ci command then got BACKEND_SPAWN_FAILED;
// the run stayed active (later: orphaned), and its partial log kept the disk full. Now the run that hit the
// full disk fails (internal, its summary naming the file system and what is free), its log is cut to its
// head and tail, the store records the end in the room of a reserve it keeps, and the backend goes on.
// A real tmpfs (mounting needs root, as CI has; without it the test fails saying so). The log's and the
// store's own tests are test/ci/output/full-disk.test.ts and test/ci/store/full-disk.test.ts.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CUT_HEAD_BYTES, CUT_TAIL_BYTES } from "../../../../src/ci/output/log-file.js";
import { reservePath } from "../../../../src/ci/store/disk-reserve.js";
import { adminCall, AdminOp } from "../../../../src/client/admin-calls.js";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { tempRepos } from "../../../helpers/git.js";
import { quirectl, quirectlJson } from "../../../helpers/quirectl.js";
import { mountTmpfs } from "../../../helpers/tmpfs.js";

const repos = tempRepos();
const MiB = 1024 * 1024;
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

function tmpfs(bytes: number): string {
  const disk = mountTmpfs(bytes);
  cleanup.push(() => disk.unmount());
  return disk.dir;
}

const free = (dir: string) => {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
};

describe("a ci daemon whose QUIRE_HOME is on an 8 MB tmpfs", () => {
  let disk: string;
  let d: TestDaemon;
  let dir: string;
  before(async () => {
    disk = tmpfs(8 * MiB);
    const home = join(disk, "home");
    mkdirSync(home, { mode: 0o700 });
    d = await startTestDaemon([], home);
    cleanup.push(() => d.stop());
    dir = repos.make({
      "flood.yml":
        "jobs:\n  flood:\n    steps:\n      - name: print 50 MB\n        run: yes 0123456789abcdefghijklmnopqrstuvwxyz | head -c 50000000\n",
      // Something else fills the disk: the step's log has nothing to give back, so the store needs its reserve.
      // Unsandboxed: the disk it fills is outside the workspace, which a sandboxed step sees read-only.
      "hog.yml": `jobs:\n  hog:\n    sandbox: false\n    steps:\n      - name: fill the disk\n        run: head -c 20000000 /dev/zero > ${disk}/filler || true; yes | head -c 1000000\n`,
      "fine.yml": "jobs:\n  fine:\n    steps: [ 'echo fine' ]\n",
    });
  });

  async function ciBackend() {
    const { status } = await adminCall(AdminOp.STATUS, { home: d.home, timeoutMs: 5_000 });
    return status!.backends.find((b) => b.service === "ci")!;
  }

  test("a step printing 50 MB fails its run as internal, naming the file system; its log is cut; the backend stays and the next run completes", async () => {
    const run = await quirectlJson(d.home, ["run", join(dir, "flood.yml"), "--wait"], 1, { timeoutMs: 120_000 });
    assert.equal(run.state, "failed");
    assert.equal(run.failure_kind, "internal");
    assert.ok(run.failure_summary.includes(`tmpfs at ${disk}: `), run.failure_summary);
    assert.match(
      run.failure_summary,
      /the disk filled up while the step ran, so quire stopped it and cut its log to its first 64 KiB and last 64 KiB \(.* [\d.]+ (B|KiB|MiB) free of 8\.0 MiB now\)/,
    );
    assert.equal(run.jobs[0].steps[0].state, "failed");
    const backend = await ciBackend();
    assert.equal(backend.state, "ready");
    assert.equal(backend.restarts, 0, "the ci backend did not die");

    const log = run.jobs[0].steps[0].log;
    const size = statSync(log).size;
    assert.ok(size <= CUT_HEAD_BYTES + CUT_TAIL_BYTES + 200, `the log was cut (${size} bytes)`);
    const text = readFileSync(log, "latin1");
    assert.ok(text.startsWith("0123456789abcdefghijklmnopqrstuvwxyz\r\n"), "its head is kept");
    assert.match(
      text,
      /\[quire: the disk filled up, so this log was cut here: \d+ bytes of output left out; the last 65536 bytes follow\]/,
    );
    assert.ok(free(disk) > 4 * MiB, `the disk is not left full (${free(disk)} bytes free)`);

    const report = await quirectl(d.home, ["runs", "show", String(run.id)]);
    assert.match(report.stdout, /the disk filled up while the step ran/);

    const fine = await quirectlJson(d.home, ["run", join(dir, "fine.yml"), "--wait"]);
    assert.equal(fine.state, "complete");
    assert.equal((await ciBackend()).pid, backend.pid, "the same backend ran it");
  });

  test("a disk something else fills: the run's end is written in the store's reserve, doctor warns, and once space is freed the next run completes", async () => {
    const reserve = reservePath(d.places.database);
    assert.ok(existsSync(reserve), "the store keeps a reserve");
    const pid = (await ciBackend()).pid;
    // As a person sees it: the failure line, then quire's reason rather than the step's last output.
    const human = await quirectl(d.home, ["run", join(dir, "hog.yml"), "--wait"], { timeoutMs: 120_000 });
    assert.equal(human.code, 1, human.stderr);
    assert.match(human.stdout, /^✗ hog \/ fill the disk.*\n {4}the disk filled up while the step ran, so quire stopped it/m);
    const id = /^run (\d+) failed \(internal\)/m.exec(human.stdout)?.[1];
    assert.ok(id, human.stdout);
    const run = await quirectlJson(d.home, ["runs", "show", id]);
    assert.equal(run.state, "failed");
    assert.equal(run.failure_kind, "internal");
    assert.ok(run.failure_summary.includes(`tmpfs at ${disk}: `), run.failure_summary);
    assert.equal(existsSync(reserve), false, "the store gave its reserve back to record the run's end");

    const doctor = await quirectlJson(d.home, ["doctor"], 1);
    const check = doctor.checks.find((c: { check: string }) => c.check === "disk");
    assert.equal(check.ok, false, JSON.stringify(check));
    assert.ok(check.detail.includes(`tmpfs at ${disk}: `), check.detail);
    assert.match(check.detail, / free of 8\.0 MiB, holding .*under 1\.0 GiB/);

    rmSync(join(disk, "filler"));
    const fine = await quirectlJson(d.home, ["run", join(dir, "fine.yml"), "--wait"]);
    assert.equal(fine.state, "complete");
    assert.equal(existsSync(reserve), true, "with room again, the reserve is back");
    const backend = await ciBackend();
    assert.equal(backend.pid, pid, "the same backend throughout");
    assert.equal(backend.restarts, 0);
  });
});
