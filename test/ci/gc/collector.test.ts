// Retention over a real store, real log files, workspaces and cache entries in a temporary home: 200 runs
// come down to the bounds, a dry pass removes nothing, what an interrupted pass left is finished by the
// next, and a pass killed with SIGKILL between a batch's rows and its logs leaves a consistent store.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { GarbageCollector, type CollectorParts } from "../../../src/ci/gc/collector.js";
import { treeBytes } from "../../../src/ci/gc/disk-usage.js";
import type { Bounds, RetentionLimits } from "../../../src/ci/gc/limits.js";
import { RunStore } from "../../../src/ci/store/index.js";
import { Workspaces } from "../../../src/ci/workspace/workspaces.js";
import { eventually } from "../../helpers/eventually.js";
import { Gate } from "../../helpers/gate.js";
import { seedCacheEntry, seedRuns } from "./seed.js";

const DAY = 86_400_000;
const NOW = Date.now();
const none: Bounds = { count: Infinity, ageMs: Infinity, bytes: Infinity };

const homes: string[] = [];
const stores: RunStore[] = [];
const children: ReturnType<typeof spawn>[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
  for (const store of stores) store.close();
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

interface Home {
  dir: string;
  store: RunStore;
  logDir: string;
  cacheDir: string;
  workspaces: Workspaces;
  collector(limits: Partial<RetentionLimits>, more?: Partial<CollectorParts>): GarbageCollector;
}

function home(): Home {
  const dir = mkdtempSync(join(tmpdir(), "quire-gc-"));
  homes.push(dir);
  const store = RunStore.open(join(dir, "quire.db"));
  stores.push(store);
  const logDir = join(dir, "logs");
  const cacheDir = join(dir, "cache");
  const workspaces = new Workspaces(join(dir, "work"), { keepFailed: 100 });
  return {
    dir,
    store,
    logDir,
    cacheDir,
    workspaces,
    collector: (limits, more = {}) =>
      new GarbageCollector({
        store,
        logDir,
        cacheDir,
        workspaces,
        limits: { runs: none, workspaces: none, caches: none, ...limits },
        settled: async () => {},
        now: () => NOW,
        ...more,
      }),
  };
}

/** A workspace kept after run `runId` failed, as Workspaces keeps one (a directory and its marker). */
async function keptWorkspace(h: Home, runId: number, bytes: number): Promise<void> {
  mkdirSync(h.workspaces.path(runId), { recursive: true });
  writeFileSync(join(h.workspaces.path(runId), "build.out"), Buffer.alloc(bytes, "w"));
  await h.workspaces.release(runId, true);
}

const runLogDirs = (h: Home) =>
  existsSync(h.logDir)
    ? readdirSync(h.logDir)
        .filter((n) => /^\d+$/.test(n))
        .map(Number)
        .sort((a, b) => a - b)
    : [];

/** Every step of every run in the store whose log was written still has it. */
function logsOfRowsPresent(h: Home): void {
  for (const id of h.store.runIds()) {
    for (const job of h.store.getRun(id)!.jobs)
      for (const step of job.steps) assert.ok(existsSync(join(h.logDir, step.log)), `run ${id}'s log ${step.log} is there`);
  }
}

describe("many runs", () => {
  test("come down to the bounds: count, log bytes, kept workspaces and cache entries", async () => {
    const h = home();
    const ids = seedRuns(h.store, h.logDir, 200, { from: NOW - 600_000, logBytes: 1000, failEvery: 20 });
    for (const id of ids.filter((_, i) => (i + 1) % 20 === 0)) await keptWorkspace(h, id, 5000);
    for (let i = 0; i < 6; i++) seedCacheEntry(h.cacheDir, `deps/app/entry-${i}`, NOW - (6 - i) * 1000, 2000);
    const limits = {
      runs: { count: 100, ageMs: Infinity, bytes: 60_000 },
      workspaces: { count: 2, ageMs: Infinity, bytes: Infinity },
      caches: { count: 3, ageMs: Infinity, bytes: Infinity },
    };
    const before = await treeBytes(h.dir);

    const dry = await h.collector(limits).collect({ dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.equal(runLogDirs(h).length, 200, "a dry pass removes nothing");
    assert.equal(h.store.finishedRuns().length, 200);

    const report = await h.collector(limits).collect();
    assert.deepEqual(
      report.removed.map((i) => [i.kind, i.runId, i.name, i.reason]),
      dry.removed.map((i) => [i.kind, i.runId, i.name, i.reason]),
      "a dry pass says exactly what a pass removes",
    );
    // 60 runs of 1000 bytes fit the bytes, fewer than the count of 100.
    const kept = h.store.finishedRuns().map((r) => r.id);
    assert.deepEqual(kept, ids.slice(-60).reverse());
    assert.deepEqual(runLogDirs(h), ids.slice(-60), "logs only of the runs kept");
    assert.deepEqual(
      report.removed.filter((i) => i.kind === "run").map((i) => i.reason),
      Array(140).fill("size"),
    );
    assert.deepEqual(report.kept.runs, { count: 60, bytes: 60_000 });
    logsOfRowsPresent(h);

    // Of the 10 kept workspaces, the 7 of removed runs went with them, and of the other 3 the oldest failure.
    assert.deepEqual(
      (await h.workspaces.keptFailed()).map((k) => k.runId).sort((a, b) => a - b),
      [ids[179], ids[199]],
    );
    assert.deepEqual(
      report.removed.filter((i) => i.kind === "workspace").map((i) => [i.runId, i.reason]),
      [
        ...ids
          .filter((_, i) => (i + 1) % 20 === 0)
          .slice(0, 7)
          .reverse()
          .map((id) => [id, "run"]),
        [ids[159], "count"],
      ],
    );
    assert.deepEqual(
      readdirSync(h.cacheDir, { recursive: true })
        .filter((n) => String(n).endsWith("entry.json"))
        .map(String)
        .sort(),
      ["deps/app/entry-3/entry.json", "deps/app/entry-4/entry.json", "deps/app/entry-5/entry.json"],
    );
    assert.equal(
      report.freedBytes,
      report.removed.reduce((sum, i) => sum + i.bytes, 0),
    );
    assert.equal(
      before - (await treeBytes(h.dir)) >= report.freedBytes - 1_000_000,
      true,
      "what it says it freed is gone (the store's file may grow or shrink a little)",
    );

    const again = await h.collector(limits).collect();
    assert.deepEqual(again.removed, [], "a second pass finds everything within the bounds");
  });

  test("runs older than the age go, and a live run stays whatever the bounds", async () => {
    const h = home();
    const old = seedRuns(h.store, h.logDir, 5, { from: NOW - 40 * DAY, logBytes: 10 });
    const recent = seedRuns(h.store, h.logDir, 5, { from: NOW - DAY, logBytes: 10 });
    const live = h.store.createRun(
      {
        repo: "/src/app",
        ref: "live",
        pipeline: h.store.getRun(old[0]!)!.spec,
        commit: null,
        tree: null,
        dirty: false,
        workspace: ".",
      },
      NOW - 50 * DAY,
    ).run.id;
    const report = await h.collector({ runs: { count: 7, ageMs: 30 * DAY, bytes: Infinity } }).collect();
    assert.deepEqual(
      report.removed.map((i) => [i.runId, i.reason]),
      [...old].reverse().map((id) => [id, "age"]),
    );
    assert.deepEqual(
      [...h.store.runIds()].sort((a, b) => a - b),
      [...recent, live],
    );
    const none = await h.collector({ runs: { count: 0, ageMs: 0, bytes: 0 } }).collect();
    assert.deepEqual([...h.store.runIds()], [live], "a live run is never removed");
    assert.equal(none.kept.runs.count, 0, "nor counted");
  });
});

test("cache entries wait while a run is live (a step may be restoring one), and go once none is", async () => {
  const h = home();
  seedCacheEntry(h.cacheDir, "deps/app/old", NOW - 30 * DAY, 100);
  const [done] = seedRuns(h.store, h.logDir, 1, { from: NOW, logBytes: 10 });
  const live = h.store.createRun(
    { repo: "/src/app", ref: "live", pipeline: h.store.getRun(done!)!.spec, commit: null, tree: null, dirty: false, workspace: "." },
    NOW,
  ).run.id;
  const limits = { caches: { count: Infinity, ageMs: 14 * DAY, bytes: Infinity } };
  const waiting = await h.collector(limits).collect();
  assert.deepEqual([waiting.removed, waiting.deferred, waiting.kept.caches.count], [[], ["caches"], 1]);
  assert.ok(existsSync(join(h.cacheDir, "deps/app/old/entry.json")));
  h.store.finishRun(live, { state: "cancelled" }, NOW);
  const after = await h.collector(limits).collect();
  assert.deepEqual([after.removed.map((i) => [i.kind, i.name, i.reason]), after.deferred], [[["cache", "deps/app/old", "age"]], []]);
  assert.deepEqual(readdirSync(join(h.cacheDir, "deps/app")), []);
});

test("what cannot change (a cache entry, a finished run's logs, a kept workspace) is measured once, not on every pass", async () => {
  const h = home();
  seedCacheEntry(h.cacheDir, "deps/app/one", NOW - DAY, 4096);
  const [failed] = seedRuns(h.store, h.logDir, 2, { from: NOW - DAY, logBytes: 1000 });
  await keptWorkspace(h, failed!, 2000);
  const collector = h.collector({});
  const first = await collector.collect({ dryRun: true });
  assert.deepEqual(
    [first.kept.caches.bytes, first.kept.runs.bytes, first.kept.workspaces.bytes],
    [4096 + (await treeBytes(join(h.cacheDir, "deps/app/one/entry.json"))), 2000, 2000],
  );
  // Their files moved away behind the collector's back: a pass that walked them again would say so.
  rmSync(join(h.cacheDir, "deps/app/one/files"), { recursive: true });
  for (const run of runLogDirs(h)) rmSync(join(h.logDir, String(run)), { recursive: true });
  rmSync(join(h.workspaces.path(failed!), "build.out"));
  const second = await collector.collect({ dryRun: true });
  assert.deepEqual(second.kept, first.kept);
  // An entry that is new (or made again at another time) is measured.
  seedCacheEntry(h.cacheDir, "deps/app/two", NOW, 100);
  const third = await collector.collect({ dryRun: true });
  assert.equal(third.kept.caches.count, 2);
  assert.ok(third.kept.caches.bytes > first.kept.caches.bytes + 99);
});

describe("an interrupted pass", () => {
  test("its leftovers (logs and workspaces of removed runs, entries moved aside) are removed by the next", async () => {
    const h = home();
    const [a, b] = seedRuns(h.store, h.logDir, 2, { from: NOW, logBytes: 100 });
    await keptWorkspace(h, b!, 100);
    h.store.deleteRuns([a!, b!]); // as a pass killed after the rows, before the files
    // Not a leftover: no run ever had this id (a run to come will).
    mkdirSync(join(h.logDir, String(b! + 1)), { recursive: true });
    mkdirSync(join(h.cacheDir, ".gc-trash-1-2-x", "files"), { recursive: true });
    writeFileSync(join(h.cacheDir, ".gc-trash-1-2-x", "files", "blob"), "half removed");
    const report = await h.collector({}).collect();
    assert.deepEqual(report.removed.map((i) => [i.kind, i.name?.slice(h.dir.length + 1)]).sort(), [
      ["leftover", `cache/.gc-trash-1-2-x`],
      ["leftover", `logs/${a}`],
      ["leftover", `logs/${b}`],
      ["leftover", `work/${b}`],
      ["leftover", `work/${b}.failed`],
    ]);
    assert.deepEqual(runLogDirs(h), [b! + 1]);
    assert.deepEqual(readdirSync(h.workspaces.root), []);
    assert.deepEqual(readdirSync(h.cacheDir), []);
  });

  test("killed with SIGKILL between a batch's rows and its logs: the store is consistent and the next pass finishes", async () => {
    const h = home();
    const ids = seedRuns(h.store, h.logDir, 250, { from: NOW - 60_000, logBytes: 100 });
    const gate = new Gate(h.dir, "never-opened");
    const marker = join(h.dir, "rows-deleted");
    const limits = { runs: { count: 50, ageMs: Infinity, bytes: Infinity }, workspaces: none, caches: none };
    // Another process runs the pass and stops, for good, once the first batch's rows are deleted.
    const script = `
      const [collectorUrl, storeUrl, workspacesUrl, home, limits, gate, marker] = process.argv.slice(1);
      const { GarbageCollector } = await import(collectorUrl);
      const { RunStore } = await import(storeUrl);
      const { Workspaces } = await import(workspacesUrl);
      const { existsSync, writeFileSync } = await import("node:fs");
      const parse = (b) => Object.fromEntries(Object.entries(b).map(([k, v]) => [k, v === null ? Infinity : v]));
      const bounds = JSON.parse(limits);
      const store = RunStore.open(home + "/quire.db");
      const onRowsDeleted = (deleted) => {
        writeFileSync(marker, deleted.join(","));
        while (!existsSync(gate)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      };
      await new GarbageCollector({ store, logDir: home + "/logs", cacheDir: home + "/cache", workspaces: new Workspaces(home + "/work"),
        limits: { runs: parse(bounds.runs), workspaces: parse(bounds.workspaces), caches: parse(bounds.caches) }, settled: async () => {}, onRowsDeleted }).collect();`;
    const url = (path: string) => new URL(path, import.meta.url).href;
    const child = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        script,
        url("../../../src/ci/gc/collector.js"),
        url("../../../src/ci/store/index.js"),
        url("../../../src/ci/workspace/workspaces.js"),
        h.dir,
        JSON.stringify(limits),
        gate.path,
        marker,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    children.push(child);
    let stderr = "";
    child.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const deleted = (
      await eventually(
        () => existsSync(marker) && readFileSync(marker, "utf8"),
        () => `the pass to delete its first batch of rows: ${stderr}`,
        60_000,
      )
    )
      .split(",")
      .map(Number);
    child.kill("SIGKILL");
    await exited;

    assert.equal(deleted.length, 100, "a batch is 100 runs");
    const db = new Database(join(h.dir, "quire.db"), { readonly: true });
    try {
      assert.deepEqual(db.pragma("integrity_check"), [{ integrity_check: "ok" }]);
      assert.deepEqual(db.pragma("foreign_key_check"), []);
    } finally {
      db.close();
    }
    for (const id of deleted) assert.equal(h.store.getRun(id), undefined, `run ${id}'s rows went in the batch's transaction`);
    assert.equal(h.store.finishedRuns().length, 150);
    logsOfRowsPresent(h);
    assert.deepEqual(
      runLogDirs(h).filter((id) => !h.store.runIds().has(id)),
      deleted.sort((a, b) => a - b),
      "the killed pass left the batch's logs, which no row names",
    );

    const next = await h.collector(limits).collect();
    assert.equal(next.removed.filter((i) => i.kind === "leftover").length, 100);
    assert.equal(next.removed.filter((i) => i.kind === "run").length, 100);
    assert.deepEqual(
      h.store.finishedRuns().map((r) => r.id),
      ids.slice(-50).reverse(),
    );
    assert.deepEqual(runLogDirs(h), ids.slice(-50));
    logsOfRowsPresent(h);
  });
});
