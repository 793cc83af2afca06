// Bounded disk through a real daemon: a home holding 500 finished runs (written straight into its store,
// a tenth of them old) and a few runs through quirectl stays within the bounds quired was started with,
// by itself; `quirectl gc` then finds nothing to remove, and says what it removes once the bounds shrink.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { RunStore } from "../../../../src/ci/store/index.js";
import { QUIRED, startTestDaemon, tempHome, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { tempRepos } from "../../../helpers/git.js";
import { quirectl, quirectlJson } from "../../../helpers/quirectl.js";
import { seedRuns } from "../../../ci/gc/seed.js";

const DAY = 86_400_000;
const repos = tempRepos();
let daemon: TestDaemon;
let seeded: number[];

before(async () => {
  const home = tempHome();
  const store = RunStore.open(join(home, "quire.db"));
  seeded = [
    ...seedRuns(store, join(home, "logs"), 50, { from: Date.now() - 40 * DAY, logBytes: 200 }),
    ...seedRuns(store, join(home, "logs"), 450, { from: Date.now() - 500_000, logBytes: 200, failEvery: 10 }),
  ];
  store.close();
  daemon = await startTestDaemon([], home, {
    QUIRE_KEEP_RUNS: "30",
    QUIRE_KEEP_RUNS_FOR: "30d",
    QUIRE_KEEP_LOGS_SIZE: "1MiB",
    QUIRE_KEEP_FAILED_WORKSPACES: "1",
  });
});
after(async () => {
  await daemon?.stop();
});

/** Finished runs in the store, the run directories under logs/, the failed workspaces kept under work/. */
function onDisk() {
  const store = RunStore.open(daemon.places.database);
  try {
    const finished = store.finishedRuns().map((r) => r.id);
    const logs = readdirSync(daemon.places.logDir).filter((n) => /^\d+$/.test(n)).length;
    const work = join(daemon.home, "work");
    const kept = existsSync(work) ? readdirSync(work).filter((n) => n.endsWith(".failed")).length : 0;
    return { finished, logs, kept };
  } finally {
    store.close();
  }
}

test("500 runs and a few more through the daemon stay within the bounds quired was started with", async () => {
  const dir = repos.make({
    "quire.yml": "name: fine\njobs:\n  build:\n    steps:\n      - run: echo fine\n",
    "broken.yml": "name: broken\njobs:\n  build:\n    steps:\n      - run: echo broken > out.txt && exit 3\n",
  });
  const ran = [];
  for (const file of ["quire.yml", "broken.yml", "quire.yml", "broken.yml"]) {
    // --no-cache: a cached job runs no step and writes no log, and this test counts a log per run.
    ran.push(await quirectlJson(daemon.home, ["run", join(dir, file), "--wait", "--no-cache"], file === "quire.yml" ? 0 : 1));
  }
  const seen = await eventually(
    () => {
      const now = onDisk();
      return now.finished.length <= 30 && now.logs === now.finished.length && now.kept <= 1 && now;
    },
    () => `the store to come down to 30 runs: ${JSON.stringify(onDisk())}`,
    60_000,
  );
  assert.deepEqual(seen.finished.slice(0, 4), ran.map((r) => r.id).reverse(), "the newest runs are the ones kept");
  assert.equal(seen.finished.length, 30);
  assert.ok(!seen.finished.includes(seeded[0]!), "the oldest went");
  assert.equal(seen.kept, 1, "one failed workspace is kept: the last failure's");
  assert.ok(existsSync(join(daemon.home, "work", `${ran[3].id}.failed`)));

  const dry = await quirectlJson(daemon.home, ["gc", "--dry-run"]);
  assert.deepEqual(dry.removed, [], "the daemon applied its bounds itself: nothing is left to remove");
  assert.equal(dry.kept.runs.count, 30);
  assert.deepEqual(dry.limits.runs, { count: 30, age_ms: 30 * DAY, bytes: 1024 * 1024 });
  assert.deepEqual(dry.limits.workspaces.count, 1);
  const text = await quirectl(daemon.home, ["gc"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^nothing to remove/);
  assert.match(text.stdout, /kept: 30 runs \([\d.]+ KiB\), 1 kept workspace/);
});

test("quirectl gc finishes what an interrupted pass left, and says what it freed", async () => {
  const before = onDisk().finished;
  // Logs of a run that is no longer in the store are what a pass killed after the run's rows leaves.
  const store = RunStore.open(daemon.places.database);
  const gone = before.at(-1)!;
  store.deleteRuns([gone]);
  store.close();
  const dry = await quirectl(daemon.home, ["gc", "--dry-run"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^would remove 1 leftover, freeing 200 B:\n {2}1 leftover left by an interrupted pass \(200 B\)\n/);
  assert.ok(existsSync(join(daemon.places.logDir, String(gone))), "a dry run removes nothing");
  const report = await quirectlJson(daemon.home, ["gc"]);
  assert.deepEqual(
    report.removed.map((i: { kind: string; name: string; reason: string }) => [i.kind, i.name, i.reason]),
    [["leftover", join(daemon.places.logDir, String(gone)), "leftover"]],
  );
  assert.ok(report.freed_bytes >= 200);
  assert.equal(existsSync(join(daemon.places.logDir, String(gone))), false);
});

test("quired refuses a bound it cannot read, naming it", () => {
  const home = tempHome();
  const result = spawnSync(process.execPath, [QUIRED, "--home", home, "--allow-root", "--keep-runs-for", "a while"], { encoding: "utf8" });
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /--keep-runs-for "a while" is not an age such as 30d/);
  assert.equal(existsSync(join(home, "quired.sock")), false);
  rmSync(home, { recursive: true, force: true });
});
