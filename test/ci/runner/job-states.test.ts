// The job states of one execution: which waiting jobs may start, which can never run, in what order.
import assert from "node:assert/strict";
import { test } from "node:test";
import { JobStates } from "../../../src/ci/runner/job-states.js";
import { jobOf, stepOf, type Job } from "../../../src/ci/pipeline/model.js";

function jobs(needs: Record<string, string[]>): Job[] {
  return Object.entries(needs).map(([name, n]) => jobOf({ name, needs: n, steps: [stepOf({ name: "s", run: "true" })] }));
}

const names = (list: Job[]) => list.map((j) => j.name);

test("jobs whose needs have all complete start, in file order, once each", () => {
  const states = new JobStates(jobs({ c: ["a", "b"], a: [], b: [] }));
  assert.deepEqual(names(states.startReady()), ["a", "b"]);
  assert.deepEqual(names(states.startReady()), [], "a running job is not started again");
  states.end("a", "complete");
  assert.deepEqual(names(states.startReady()), [], "c still needs b");
  states.end("b", "complete");
  assert.deepEqual(names(states.startReady()), ["c"]);
  assert.equal(states.get("c"), "running");
});

test("a cached need (given an earlier complete job's result) lets its dependents start, as a complete one does", () => {
  const states = new JobStates(jobs({ test: ["build", "lint"], build: [], lint: [] }));
  assert.deepEqual(names(states.startReady()), ["build", "lint"]);
  states.end("build", "cached");
  states.end("lint", "complete");
  assert.deepEqual(names(states.skipBlocked()), []);
  assert.deepEqual(names(states.startReady()), ["test"]);
});

test("a failed, skipped or stopped need skips its dependents, also those listed before them, in one call", () => {
  for (const end of ["failed", "stopped"] as const) {
    const states = new JobStates(jobs({ deploy: ["test"], build: [], test: ["build"], docs: [] }));
    assert.deepEqual(names(states.startReady()), ["build", "docs"]);
    states.end("build", end);
    assert.deepEqual(names(states.skipBlocked()), ["test", "deploy"], `build ${end}`);
    assert.equal(states.get("deploy"), "skipped");
    assert.equal(states.get("docs"), "running", "independent jobs go on");
    assert.deepEqual(names(states.skipBlocked()), [], "each is skipped once");
    assert.deepEqual(names(states.startReady()), []);
  }
});
