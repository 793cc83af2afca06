// Which jobs a rerun runs: all of them as the run had them, or with --failed the failed and cancelled ones
// and every job that needs one of them, their needs on what completed dropped; never a live run's.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jobOf, pipelineOf, stepOf } from "../../../src/ci/pipeline/model.js";
import { recordedSnapshot, rerunPipeline } from "../../../src/ci/runner/rerun.js";
import type { JobState, RunState, RunView } from "../../../src/ci/store/index.js";

function run(state: RunState, jobs: [string, JobState, string[]][]): RunView {
  const spec = pipelineOf({
    name: "p",
    file: "/r/quire.yml",
    jobs: jobs.map(([name, , needs]) => jobOf({ name, needs, steps: [stepOf({ name: "s", run: "true" })] })),
  });
  return {
    id: 7,
    repo: "/r",
    ref: "main",
    pipeline: "p",
    pipelineFile: "/r/quire.yml",
    spec,
    state,
    failureKind: null,
    failureSummary: null,
    supersededBy: null,
    createdAt: 1,
    startedAt: 1,
    finishedAt: 2,
    commit: "c",
    tree: "t",
    dirty: false,
    workspace: ".",
    trigger: "manual",
    notify: false,
    noCache: false,
    rerunOf: null,
    annotations: [],
    jobs: jobs.map(([name, jobState]) => ({
      name,
      state: jobState,
      attempt: 1,
      exitCode: null,
      startedAt: null,
      finishedAt: 2,
      cachedFrom: null,
      steps: [],
    })),
  } as RunView;
}

const names = (p: { jobs: { name: string; needs: string[] }[] }) => p.jobs.map((j) => [j.name, j.needs]);

test("a whole rerun runs the pipeline as the run had it", () => {
  const r = run("complete", [
    ["a", "complete", []],
    ["b", "complete", ["a"]],
  ]);
  assert.equal(rerunPipeline(r, false), r.spec);
});

test("--failed: the failed and cancelled jobs and, transitively, what needs them; nothing else", () => {
  const r = run("failed", [
    ["lint", "complete", []],
    ["build", "failed", []],
    ["unit", "skipped", ["build", "lint"]],
    ["e2e", "skipped", ["unit"]],
    ["leg", "cancelled", []],
    ["docs", "complete", ["lint"]],
    ["mac", "skipped", []],
  ]);
  assert.deepEqual(names(rerunPipeline(r, true)), [
    ["build", []],
    ["unit", ["build"]],
    ["e2e", ["unit"]],
    ["leg", []],
  ]);
});

test("--failed of a run where nothing failed, and any rerun of a live run, are refused", () => {
  assert.throws(
    () =>
      rerunPipeline(
        run("complete", [
          ["a", "complete", []],
          ["mac", "skipped", []],
        ]),
        true,
      ),
    { code: "QUIRE_ERR_RERUN_NOTHING_FAILED" },
  );
  assert.throws(() => rerunPipeline(run("active", [["a", "active", []]]), false), { code: "QUIRE_ERR_RERUN_LIVE" });
  assert.throws(() => rerunPipeline(run("pending", [["a", "pending", []]]), true), { code: "QUIRE_ERR_RERUN_LIVE" });
});

test("a run without a recorded git snapshot cannot be run again, and says why", () => {
  const plain = { ...run("complete", []), tree: null };
  assert.throws(
    () => recordedSnapshot(plain, null),
    (e: { code?: string; message: string }) => e.code === "QUIRE_ERR_RERUN_NO_TREE" && /not a git repository/.test(e.message),
  );
  assert.throws(
    () => recordedSnapshot(run("complete", []), null),
    (e: { code?: string; message: string }) => e.code === "QUIRE_ERR_RERUN_NO_TREE" && /before quire kept/.test(e.message),
  );
});
