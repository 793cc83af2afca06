// JobGroups: per group one job in progress and at most one waiting, as GitHub keeps them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluateConcurrency, JobGroups } from "../../../src/ci/runner/concurrency-groups.js";

test("the first job runs; a second waits; a third replaces the second; the third runs once the first leaves", async () => {
  const groups = new JobGroups();
  const cancelled: string[] = [];
  const first = groups.join("g", false, () => cancelled.push("first"));
  const second = groups.join("g", false, () => cancelled.push("second"));
  const third = groups.join("g", false, () => cancelled.push("third"));
  assert.equal(await first.turn, true);
  assert.equal(await second.turn, false);
  first.leave();
  assert.equal(await third.turn, true);
  assert.deepEqual(cancelled, []);
  third.leave();
  assert.equal(await groups.join("g", false, () => {}).turn, true, "an empty group lets the next job run at once");
});

test("cancel-in-progress tells the job in progress to end; the new one runs once it has left", async () => {
  const groups = new JobGroups();
  const cancelled: string[] = [];
  const running = groups.join("g", false, () => cancelled.push("running"));
  await running.turn;
  const newer = groups.join("g", true, () => cancelled.push("newer"));
  assert.deepEqual(cancelled, ["running"]);
  let admitted = false;
  void newer.turn.then((go) => (admitted = go));
  await Promise.resolve();
  assert.equal(admitted, false, "not while the cancelled job still holds the group");
  running.leave();
  assert.equal(await newer.turn, true);
  // Other groups are not touched, and leaving twice is harmless.
  running.leave();
  assert.equal(await groups.join("other", true, () => {}).turn, true);
});

test("a waiting job that leaves (its run stopped) is not admitted", async () => {
  const groups = new JobGroups();
  const running = groups.join("g", false, () => {});
  const waiting = groups.join("g", false, () => {});
  waiting.leave();
  assert.equal(await waiting.turn, false);
  running.leave();
});

test("evaluateConcurrency: an empty group is none; cancel-in-progress as an expression", () => {
  const scope = { contexts: { github: { ref: "refs/heads/main", head_ref: "" } } };
  assert.equal(evaluateConcurrency({ group: "${{ github.head_ref }}", cancelInProgress: true }, scope), null);
  assert.deepEqual(
    evaluateConcurrency({ group: "ci-${{ github.ref }}", cancelInProgress: "${{ github.ref != 'refs/heads/main' }}" }, scope),
    { group: "ci-refs/heads/main", cancelInProgress: false },
  );
});
