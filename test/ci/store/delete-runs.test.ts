// Removing runs from the store (what retention does): a run's rows go together in one transaction, live
// runs are never removed, nothing is left naming a removed run, and ids are never given out again.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { jobOf, pipelineOf, stepOf } from "../../../src/ci/pipeline/model.js";
import { RunStore, type NewRun } from "../../../src/ci/store/index.js";

const dir = mkdtempSync(join(tmpdir(), "quire-delete-runs-"));
const open: { close(): void }[] = [];
after(() => {
  for (const db of open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
function openStore(): { store: RunStore; file: string } {
  const file = join(dir, `store-${++files}.db`);
  const store = RunStore.open(file);
  open.push(store);
  return { store, file };
}

function newRun(over: Partial<NewRun> = {}): NewRun {
  const pipeline = pipelineOf({
    name: "demo",
    file: "quire.yml",
    jobs: [
      jobOf({ name: "build", steps: [stepOf({ name: "a", run: "true" }), stepOf({ name: "b", run: "true" })] }),
      jobOf({ name: "test", needs: ["build"], steps: [stepOf({ name: "c", run: "true" })] }),
    ],
  });
  return {
    repo: "/src/app",
    ref: "main",
    pipeline,
    commit: "c0ffee",
    tree: "7ree",
    dirty: false,
    workspace: ".",
    ...over,
  };
}

/** A run that has ended (complete), with an annotation. */
function finished(store: RunStore, at: number, over: Partial<NewRun> = {}): number {
  const { run } = store.createRun(newRun({ ref: `r${at}`, ...over }), at);
  store.startRun(run.id, at);
  store.annotate(run.id, null, null, `note ${run.id}`, at);
  store.finishRun(run.id, { state: "complete" }, at + 1);
  return run.id;
}

function counts(file: string): Record<string, number> {
  const db = new Database(file, { readonly: true });
  try {
    const n = (table: string) => db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    return { runs: n("runs"), jobs: n("jobs"), steps: n("steps"), annotations: n("annotations") };
  } finally {
    db.close();
  }
}

test("a run's jobs, steps and annotations go with it; other runs keep theirs", () => {
  const { store, file } = openStore();
  const a = finished(store, 10);
  const b = finished(store, 20);
  assert.deepEqual(counts(file), { runs: 2, jobs: 4, steps: 6, annotations: 2 });
  assert.deepEqual(store.deleteRuns([a]), [a]);
  assert.deepEqual(counts(file), { runs: 1, jobs: 2, steps: 3, annotations: 1 });
  assert.equal(store.getRun(a), undefined);
  assert.equal(store.getRun(b)?.annotations[0]?.text, `note ${b}`);
  assert.deepEqual([...store.runIds()], [b]);
});

test("live runs are never removed, pending or active", () => {
  const { store } = openStore();
  const pending = store.createRun(newRun({ ref: "p" }), 1).run.id;
  const active = store.createRun(newRun({ ref: "a" }), 2).run.id;
  store.startRun(active, 3);
  const done = finished(store, 4);
  assert.deepEqual(store.deleteRuns([pending, active, done]), [done]);
  assert.deepEqual(store.finishedRuns(), []);
  assert.deepEqual([...store.runIds()].sort(), [pending, active]);
});

test("finishedRuns lists ended runs newest first, with when they ended", () => {
  const { store } = openStore();
  const a = finished(store, 100);
  const live = store.createRun(newRun({ ref: "live" }), 150).run.id;
  const b = finished(store, 200);
  assert.deepEqual(store.finishedRuns(), [
    { id: b, state: "complete", finishedAt: 201 },
    { id: a, state: "complete", finishedAt: 101 },
  ]);
  assert.ok(live);
});

test("a run superseded by a removed one goes too, so no row names a run that is gone", () => {
  const { store, file } = openStore();
  const first = store.createRun(newRun(), 1).run.id;
  const second = store.createRun(newRun(), 2).run.id; // supersedes first
  const third = store.createRun(newRun(), 3).run.id; // supersedes second
  store.finishRun(third, { state: "cancelled" }, 4);
  assert.equal(store.getRun(first)?.supersededBy, second);
  assert.deepEqual(store.deleteRuns([third]), [first, second, third]);
  assert.deepEqual(counts(file).runs, 0);
  const db = new Database(file, { readonly: true });
  open.push(db);
  assert.deepEqual(db.pragma("foreign_key_check"), []);
});

test("a run whose result a staying run's cached job shows stays, with what its deletion would need", () => {
  const { store } = openStore();
  const inputs = "a".repeat(64);
  const proving = store.createRun(newRun({ ref: "p" }), 1).run.id;
  store.startRun(proving, 1);
  for (const job of ["build", "test"]) {
    store.startJob(proving, job, 1);
    store.finishJob(proving, job, "complete", 0, 2, job === "build" ? inputs : null);
  }
  store.finishRun(proving, { state: "complete" }, 3);
  const citing = store.createRun(newRun({ ref: "c" }), 4).run.id;
  store.startRun(citing, 4);
  assert.ok(store.cacheJob(citing, "build", inputs, proving, 5));
  store.finishRun(citing, { state: "cancelled" }, 6);
  assert.deepEqual(store.citations(), new Map([[citing, [proving]]]));
  assert.deepEqual(store.deleteRuns([proving]), [], "its steps' logs are what the cached job shows");
  assert.deepEqual(
    store.deleteRuns([citing, proving]),
    [proving, citing].sort((a, b) => a - b),
    "with the run citing it, it goes",
  );
});

test("a result recorded from the remote cache, newer than the run whose cached job names it, goes with that run", () => {
  const { store } = openStore();
  const inputs = "b".repeat(64);
  const citing = store.createRun(newRun({ ref: "c" }), 1).run.id;
  store.startRun(citing, 1);
  const pipeline = newRun().pipeline;
  const recorded = store.recordRemoteResult({
    repo: "/src/app",
    ref: "c",
    pipeline: { ...pipeline, jobs: [pipeline.jobs[0]!] },
    workspace: ".",
    job: "build",
    inputs,
    startedAt: 0,
    finishedAt: 1,
    steps: [
      { name: "a", command: "true", state: "complete", exitCode: 0, startedAt: 0, finishedAt: 1 },
      { name: "b", command: "true", state: "skipped", exitCode: null, startedAt: null, finishedAt: 1 },
    ],
  });
  assert.ok(recorded > citing);
  assert.equal(store.getRun(recorded)?.trigger, "remote-cache");
  assert.equal(store.provenBy(inputs, citing), recorded);
  assert.ok(store.cacheJob(citing, "build", inputs, recorded, 2));
  store.finishRun(citing, { state: "cancelled" }, 3);
  assert.deepEqual(
    store.newestRunsOfRepo("/src/app", 10).map((r) => r.id),
    [citing],
    "the recorded result is no run of the repository's own",
  );
  assert.deepEqual(store.deleteRuns([recorded]), [], "the cached job shows its steps' logs");
  assert.deepEqual(store.deleteRuns([citing, recorded]), [citing, recorded]);
});

test("a rerun outlives the run it ran again: it no longer names it", () => {
  const { store } = openStore();
  const source = finished(store, 1);
  const rerun = finished(store, 2, { rerunOf: source });
  assert.equal(store.getRun(rerun)?.rerunOf, source);
  store.deleteRuns([source]);
  assert.equal(store.getRun(rerun)?.rerunOf, null);
});

test("a rerun names an earlier run, never itself or a later one", () => {
  const { store } = openStore();
  assert.throws(() => store.createRun(newRun({ rerunOf: 5 }), 1), /FOREIGN KEY|CHECK/);
});

test("the ids of removed runs are never given out again", () => {
  const { store } = openStore();
  finished(store, 1);
  const last = finished(store, 2);
  store.deleteRuns([...store.runIds()]);
  assert.equal(store.createRun(newRun(), 3).run.id, last + 1);
});
