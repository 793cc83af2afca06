// --job and --matrix: what a person asked for, with what it needs, from a workflow with a matrix.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PipelineError } from "../../../src/ci/errors.js";
import { selectJobs } from "../../../src/ci/pipeline/select.js";
import { readWorkflow } from "../../../src/ci/workflow/read.js";

const workflow = readWorkflow(
  [
    "on: push",
    "jobs:",
    "  lint: { runs-on: ubuntu-latest, steps: [{ run: 'true' }] }",
    "  build: { runs-on: ubuntu-latest, needs: lint, steps: [{ run: 'true' }] }",
    "  test:",
    "    runs-on: ubuntu-latest",
    "    needs: build",
    "    strategy: { matrix: { node: [18, 20], os: [linux, mac] } }",
    "    steps: [{ run: 'true' }]",
    "  docs: { runs-on: ubuntu-latest, steps: [{ run: 'true' }] }",
    "",
  ].join("\n"),
  ".github/workflows/ci.yml",
);
const names = (jobs: { jobs: { name: string }[] }) => jobs.jobs.map((j) => j.name);

test("nothing asked: the whole pipeline", () => {
  assert.equal(selectJobs(workflow, { jobs: [], matrix: {} }), workflow);
});

test("a job id keeps every leg and what they need, in file order", () => {
  assert.deepEqual(names(selectJobs(workflow, { jobs: ["test"], matrix: {} })), [
    "lint",
    "build",
    "test (18, linux)",
    "test (18, mac)",
    "test (20, linux)",
    "test (20, mac)",
  ]);
  assert.deepEqual(names(selectJobs(workflow, { jobs: ["docs"], matrix: {} })), ["docs"]);
});

test("--matrix keeps the matching legs; a leg's own name works too", () => {
  assert.deepEqual(names(selectJobs(workflow, { jobs: ["test"], matrix: { node: "20" } })), [
    "lint",
    "build",
    "test (20, linux)",
    "test (20, mac)",
  ]);
  assert.deepEqual(names(selectJobs(workflow, { jobs: [], matrix: { node: "18", os: "mac" } })), ["lint", "build", "test (18, mac)"]);
  assert.deepEqual(names(selectJobs(workflow, { jobs: ["test (20, linux)"], matrix: {} })), ["lint", "build", "test (20, linux)"]);
});

test("a name or values that match nothing are refused, naming what there is", () => {
  assert.throws(
    () => selectJobs(workflow, { jobs: ["tset"], matrix: {} }),
    (e: unknown) => e instanceof PipelineError && /no job `tset`.*jobs: lint, build, test, docs/.test(e.message),
  );
  assert.throws(
    () => selectJobs(workflow, { jobs: ["test"], matrix: { node: "22" } }),
    (e: unknown) => e instanceof PipelineError && /no matrix leg/.test(e.message),
  );
});
