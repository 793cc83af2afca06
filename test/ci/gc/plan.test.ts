// Which runs, workspaces and cache entries retention removes: the newest are kept while they fit the
// count and the bytes, the first that does not fit goes with everything older, and what is older than the
// age goes by itself. A workspace goes with its run.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_LIMITS, type Bounds, type RetentionLimits } from "../../../src/ci/gc/limits.js";
import { planRetention, retain } from "../../../src/ci/gc/plan.js";

const NOW = 1_000_000_000;
const DAY = 86_400_000;
const none: Bounds = { count: Infinity, ageMs: Infinity, bytes: Infinity };
const limits = (over: Partial<RetentionLimits>): RetentionLimits => ({ runs: none, workspaces: none, caches: none, ...over });

/** Runs 1..n, run i ended i minutes before NOW's last n minutes (so higher ids are newer), 10 bytes each. */
const runs = (n: number, bytes = 10) => Array.from({ length: n }, (_, i) => ({ id: i + 1, at: NOW - (n - i) * 60_000, bytes }));
const ids = (items: { item: { id: number } }[]) => items.map((r) => r.item.id);
const byId = (a: { id: number }, b: { id: number }) => b.id - a.id;

describe("retain", () => {
  test("keeps the newest `count` and removes the rest, oldest included", () => {
    const plan = retain(runs(5), { ...none, count: 2 }, NOW, byId);
    assert.deepEqual(
      plan.kept.map((r) => r.id),
      [5, 4],
    );
    assert.deepEqual(
      plan.removed.map((r) => [r.item.id, r.reason]),
      [
        [3, "count"],
        [2, "count"],
        [1, "count"],
      ],
    );
  });

  test("a count of 0 keeps nothing; unlimited keeps everything", () => {
    assert.deepEqual(retain(runs(3), { ...none, count: 0 }, NOW, byId).kept, []);
    assert.equal(retain(runs(3), none, NOW, byId).kept.length, 3);
  });

  test("bytes: the first that does not fit goes with everything older, even what would fit", () => {
    const items = [
      { id: 4, at: NOW, bytes: 40 },
      { id: 3, at: NOW, bytes: 50 },
      { id: 2, at: NOW, bytes: 20 },
      { id: 1, at: NOW, bytes: 1 },
    ];
    const plan = retain(items, { ...none, bytes: 60 }, NOW, byId);
    assert.deepEqual(
      plan.kept.map((r) => r.id),
      [4],
    );
    assert.deepEqual(
      plan.removed.map((r) => [r.item.id, r.reason]),
      [
        [3, "size"],
        [2, "size"],
        [1, "size"],
      ],
    );
  });

  test("exactly at the bound is within it", () => {
    assert.equal(retain(runs(3, 10), { ...none, bytes: 30 }, NOW, byId).kept.length, 3);
    assert.equal(retain(runs(3, 10), { ...none, count: 3 }, NOW, byId).kept.length, 3);
  });

  test("age removes each one older than the bound by itself, and what it removes takes no room", () => {
    const items = [
      { id: 3, at: NOW - 2 * DAY, bytes: 10 },
      { id: 2, at: NOW - 10 * DAY, bytes: 1000 },
      { id: 1, at: NOW - 1 * DAY, bytes: 10 },
    ];
    const plan = retain(items, { count: 2, ageMs: 7 * DAY, bytes: 20 }, NOW, byId);
    assert.deepEqual(
      plan.kept.map((r) => r.id),
      [3, 1],
    );
    assert.deepEqual(
      plan.removed.map((r) => [r.item.id, r.reason]),
      [[2, "age"]],
    );
  });
});

describe("planRetention", () => {
  test("a kept workspace goes with its run, and counts no more against the workspaces' bounds", () => {
    const plan = planRetention(
      {
        runs: runs(4),
        workspaces: [
          { runId: 1, at: NOW - 3000, bytes: 5 },
          { runId: 3, at: NOW - 2000, bytes: 5 },
          { runId: 4, at: NOW - 1000, bytes: 5 },
        ],
        caches: [],
      },
      limits({ runs: { ...none, count: 3 }, workspaces: { ...none, count: 1 } }),
      NOW,
    );
    assert.deepEqual(ids(plan.runs.removed), [1]);
    assert.deepEqual(
      plan.workspaces.removed.map((w) => [w.item.runId, w.reason]),
      [
        [1, "run"],
        [3, "count"],
      ],
    );
    assert.deepEqual(
      plan.workspaces.kept.map((w) => w.runId),
      [4],
    );
  });

  test("a run a kept run's cached jobs cite is kept with it, over the bounds, and what that one cites", () => {
    const facts = runs(5).map((r) => ({ ...r, cites: r.id === 5 ? [2] : r.id === 2 ? [1] : [] }));
    const plan = planRetention({ runs: facts, workspaces: [], caches: [] }, limits({ runs: { ...none, count: 2 } }), NOW);
    assert.deepEqual(
      plan.runs.kept.map((r) => r.id),
      [5, 4, 2, 1],
    );
    assert.deepEqual(ids(plan.runs.removed), [3]);
  });

  test("cache entries: newest by when they were saved", () => {
    const plan = planRetention(
      {
        runs: [],
        workspaces: [],
        caches: [
          { name: "deps/a/old", at: NOW - 20 * DAY, bytes: 1 },
          { name: "deps/a/new", at: NOW - DAY, bytes: 100 },
          { name: "deps/b/mid", at: NOW - 2 * DAY, bytes: 100 },
        ],
      },
      limits({ caches: { count: 10, ageMs: 14 * DAY, bytes: 150 } }),
      NOW,
    );
    assert.deepEqual(
      plan.caches.kept.map((c) => c.name),
      ["deps/a/new"],
    );
    assert.deepEqual(
      plan.caches.removed.map((c) => [c.item.name, c.reason]),
      [
        ["deps/b/mid", "size"],
        ["deps/a/old", "size"],
      ],
    );
  });

  test("the defaults remove nothing a day's use makes", () => {
    const plan = planRetention(
      {
        runs: runs(50, 100_000),
        workspaces: [{ runId: 50, at: NOW, bytes: 10_000_000 }],
        caches: [{ name: "deps/x/y", at: NOW, bytes: 50_000_000 }],
      },
      DEFAULT_LIMITS,
      NOW,
    );
    assert.deepEqual([plan.runs.removed, plan.workspaces.removed, plan.caches.removed], [[], [], []]);
  });
});
