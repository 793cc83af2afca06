// The run store against real SQLite files: the schema refuses impossible states, the first terminal
// write wins, superseding and crash recovery move whole runs, migrations apply in order from any version.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import Database from "better-sqlite3";
import { jobOf, pipelineOf, stepOf, type Pipeline } from "../../../src/ci/pipeline/model.js";
import { migrations } from "../../../src/ci/store/migrations/index.js";
import { RunStore, SCHEMA_VERSION, type NewRun, type RunView } from "../../../src/ci/store/index.js";

const dir = mkdtempSync(join(tmpdir(), "quire-store-"));
const open: { close(): void }[] = [];
after(() => {
  for (const db of open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

let files = 0;
const freshFile = () => join(dir, `store-${++files}.db`);

function openStore(file = freshFile()): RunStore {
  const store = RunStore.open(file);
  open.push(store);
  return store;
}

/** A second connection, as a person poking at quire.db with sqlite3 would have. */
function rawDb(file: string): Database.Database {
  const db = new Database(file);
  db.pragma("foreign_keys = ON");
  open.push(db);
  return db;
}

function pipeline(
  name = "demo",
  jobs: [string, number][] = [
    ["build", 2],
    ["test", 1],
  ],
): Pipeline {
  return pipelineOf({
    name,
    file: "quire.yml",
    jobs: jobs.map(([job, steps]) =>
      jobOf({ name: job, steps: Array.from({ length: steps }, (_, i) => stepOf({ name: `${job} ${i}`, run: `echo ${job} ${i}` })) }),
    ),
  });
}

function newRun(over: Partial<NewRun> = {}): NewRun {
  return { repo: "/src/app", ref: "main", pipeline: pipeline(), commit: "c0ffee", tree: "7ree", dirty: false, workspace: "/ws/1", ...over };
}

const job = (view: RunView, name: string) => view.jobs.find((j) => j.name === name)!;

function insert(db: Database.Database, table: string, row: Record<string, unknown>): number {
  const cols = Object.keys(row);
  const sql = `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map((c) => `@${c}`).join(", ")})`;
  return Number(db.prepare(sql).run(row).lastInsertRowid);
}

/** Builds a file at schema version `version` the way older quires left it: migrations 1..version. */
function fileAtVersion(version: number): string {
  const file = freshFile();
  const db = new Database(file);
  for (const m of migrations.slice(0, version)) {
    db.exec(m.up);
    db.pragma(`user_version = ${m.version}`);
  }
  db.close();
  return file;
}

describe("schema and migrations", () => {
  test("SCHEMA_VERSION is the last migration's, and versions run 1, 2, ... in order", () => {
    assert.deepEqual(
      migrations.map((m) => m.version),
      migrations.map((_, i) => i + 1),
    );
    assert.equal(SCHEMA_VERSION, migrations.at(-1)!.version);
  });

  test("an empty file gets every migration, and WAL is on", () => {
    const file = freshFile();
    openStore(file);
    const raw = rawDb(file);
    assert.equal(raw.pragma("user_version", { simple: true }), SCHEMA_VERSION);
    assert.equal(raw.pragma("journal_mode", { simple: true }), "wal"); // WAL is a property of the file
    const tables = raw
      .prepare(`SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
      .pluck()
      .all();
    assert.deepEqual(tables, ["annotations", "jobs", "runs", "secrets", "step_tokens", "steps"]);
  });

  for (let version = 0; version < SCHEMA_VERSION; version++) {
    test(`a file at schema version ${version} migrates to ${SCHEMA_VERSION}, keeping its runs`, () => {
      const file = fileAtVersion(version);
      if (version >= 1) {
        const raw = new Database(file);
        insert(raw, "runs", {
          repo: "/old",
          ref: "main",
          pipeline: "demo",
          pipeline_file: "quire.yml",
          spec: JSON.stringify(pipeline()),
          state: "pending",
          created_at: 5,
          dirty: 0,
          workspace: "/ws",
        });
        const jobId = insert(raw, "jobs", { run_id: 1, name: "build", position: 0, state: "pending", attempt: 1 });
        insert(raw, "steps", {
          job_id: jobId,
          attempt: 1,
          position: 0,
          name: "build 0",
          command: "echo build 0",
          state: "pending",
          log: "1/build/1-0.log",
        });
        raw.close();
      }
      const store = RunStore.open(file);
      assert.equal(rawDb(file).pragma("user_version", { simple: true }), SCHEMA_VERSION);
      if (version >= 1) {
        assert.equal(store.getRun(1)?.repo, "/old");
        // Remade tables keep their rows, and steps still belong to their job (deleting the run takes both).
        assert.deepEqual(
          store.getRun(1)?.jobs.map((j) => [j.name, j.state, j.cachedFrom, j.steps.map((st) => st.name)]),
          [["build", "pending", null, ["build 0"]]],
        );
        assert.equal(store.getRun(1)?.noCache, false);
        const raw = rawDb(file);
        assert.deepEqual(raw.pragma("foreign_key_check"), []);
        assert.match(
          raw.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'steps'`).pluck().get() as string,
          /REFERENCES "?jobs"? \(id\)/,
        );
        store.annotate(1, null, null, "kept across the upgrade", 6);
        assert.equal(store.getRun(1)?.annotations[0]?.text, "kept across the upgrade");
      }
      store.putSecret("TOKEN", Buffer.alloc(24), Buffer.alloc(20), 7);
      store.close();
      // Each migration runs once: opening again would fail on CREATE TABLE if one ran twice.
      const again = openStore(file);
      assert.deepEqual(again.secretNames(), ["TOKEN"]);
    });
  }

  test("migration 3 drops the run-wide tokens of live runs: tokens are per step from then on", () => {
    const file = fileAtVersion(2);
    const raw = new Database(file);
    insert(raw, "runs", {
      repo: "/old",
      ref: "main",
      pipeline: "demo",
      pipeline_file: "quire.yml",
      spec: JSON.stringify(pipeline()),
      state: "active",
      created_at: 5,
      started_at: 6,
      dirty: 0,
      workspace: "/ws",
      token_hash: randomBytes(32),
    });
    raw.close();
    openStore(file);
    assert.equal(rawDb(file).prepare(`SELECT count(*) FROM runs WHERE token_hash IS NOT NULL`).pluck().get(), 0);
  });

  test("a migration that fails is rolled back whole and the version stays", () => {
    const file = fileAtVersion(1);
    const raw = new Database(file);
    raw.exec("CREATE TABLE secrets (x)"); // 0002 creates annotations first, then trips on this
    raw.close();
    assert.throws(() => RunStore.open(file), { code: "QUIRE_ERR_STORE_MIGRATION" });
    const after = rawDb(file);
    assert.equal(after.pragma("user_version", { simple: true }), 1);
    assert.equal(after.prepare(`SELECT count(*) FROM sqlite_schema WHERE name = 'annotations'`).pluck().get(), 0);
  });

  test("a file from a newer schema version is refused and left alone", () => {
    const file = fileAtVersion(SCHEMA_VERSION);
    const raw = new Database(file);
    raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    raw.close();
    assert.throws(() => RunStore.open(file), { code: "QUIRE_ERR_STORE_TOO_NEW", version: SCHEMA_VERSION + 1, known: SCHEMA_VERSION });
    assert.equal(rawDb(file).pragma("user_version", { simple: true }), SCHEMA_VERSION + 1);
  });

  test("a file that is not a database is refused", () => {
    const file = freshFile();
    writeFileSync(file, "this is not SQLite ".repeat(100));
    assert.throws(() => RunStore.open(file), { code: "QUIRE_ERR_STORE_OPEN" });
    assert.throws(() => RunStore.open(join(dir, "no", "such", "dir", "quire.db")), { code: "QUIRE_ERR_STORE_OPEN" });
  });
});

// Each case starts from a valid row of its table and changes what makes it impossible. The valid rows
// are checked too, so a case cannot pass by tripping on something else.
describe("the schema refuses impossible states written with direct SQL", () => {
  const file = freshFile();
  openStore(file);
  const raw = rawDb(file);
  const spec = JSON.stringify(pipeline());
  const runId = insert(raw, "runs", {
    repo: "/r",
    ref: "main",
    pipeline: "demo",
    pipeline_file: "quire.yml",
    spec,
    state: "active",
    created_at: 1000,
    started_at: 1001,
    dirty: 0,
    workspace: "/ws",
  });
  const jobId = insert(raw, "jobs", { run_id: runId, name: "build", position: 0, state: "active", attempt: 1, started_at: 1001 });
  const otherRun = insert(raw, "runs", {
    repo: "/other",
    ref: "main",
    pipeline: "demo",
    pipeline_file: "quire.yml",
    spec,
    state: "complete",
    created_at: 900,
    started_at: 901,
    finished_at: 902,
    dirty: 0,
    workspace: "/ws",
  });
  const HASH = "0123456789abcdef".repeat(4);
  insert(raw, "steps", { job_id: jobId, attempt: 1, position: 0, name: "s", command: "true", state: "pending", log: "1/build/1-0.log" });
  insert(raw, "runs", {
    repo: "/keyed",
    ref: "main",
    pipeline: "demo",
    pipeline_file: "quire.yml",
    spec,
    state: "complete",
    created_at: 1000,
    started_at: 1001,
    finished_at: 1002,
    dirty: 0,
    workspace: "/ws",
    idempotency_key: "taken",
  });
  // Each step token needs an active step of its own.
  const activeStep = () =>
    insert(raw, "steps", {
      job_id: jobId,
      attempt: 1,
      position: 200 + ++unique,
      name: "s",
      command: "true",
      state: "active",
      started_at: 1001,
      log: "1/build/1-2.log",
    });

  let unique = 0;
  const bases: Record<string, () => Record<string, unknown>> = {
    runs: () => ({
      repo: `/r${++unique}`,
      ref: "main",
      pipeline: "demo",
      pipeline_file: "quire.yml",
      spec,
      state: "pending",
      created_at: 1000,
      dirty: 0,
      workspace: "/ws",
    }),
    jobs: () => ({ run_id: runId, name: `j${++unique}`, position: 100 + unique, state: "pending", attempt: 1 }),
    steps: () => ({
      job_id: jobId,
      attempt: 1,
      position: 100 + ++unique,
      name: "s",
      command: "true",
      state: "pending",
      log: "1/build/1-1.log",
    }),
    annotations: () => ({ run_id: runId, job: "build", step: "s", text: "note", created_at: 1000 }),
    secrets: () => ({ name: `S${++unique}`, nonce: Buffer.alloc(24), box: Buffer.alloc(16), updated_at: 1000 }),
    step_tokens: () => ({ token_hash: randomBytes(32), step_id: activeStep() }),
  };
  const TRIGGER = "SQLITE_CONSTRAINT_TRIGGER";
  const CHECK = "SQLITE_CONSTRAINT_CHECK";
  const big = "x".repeat(601);
  type Case = [table: string, what: string, change: Record<string, unknown>, code?: string];
  const finished = { started_at: 1001, finished_at: 1002 };
  const cases: Case[] = [
    ["runs", "an unknown state", { state: "running" }],
    ["runs", "pending with started_at", { started_at: 1001 }],
    ["runs", "pending with finished_at", { finished_at: 1002 }],
    ["runs", "active without started_at", { state: "active" }],
    ["runs", "active with finished_at", { state: "active", ...finished }],
    ["runs", "complete without started_at", { state: "complete", finished_at: 1002 }],
    ["runs", "complete without finished_at", { state: "complete", started_at: 1001 }],
    ["runs", "cancelled without finished_at", { state: "cancelled" }],
    ["runs", "failed without finished_at", { state: "failed", failure_kind: "internal", failure_summary: "x" }],
    ["runs", "superseded without finished_at", { state: "superseded", superseded_by: 10_000 }],
    ["runs", "finished_at before started_at", { state: "complete", started_at: 1005, finished_at: 1004 }],
    ["runs", "started_at before created_at", { state: "active", started_at: 999 }],
    ["runs", "finished_at before created_at", { state: "cancelled", finished_at: 999 }],
    ["runs", "failed without failure_kind", { state: "failed", finished_at: 1002, failure_summary: "x" }],
    ["runs", "failed without failure_summary", { state: "failed", finished_at: 1002, failure_kind: "internal" }],
    ["runs", "failure_kind on a run that did not fail", { state: "cancelled", finished_at: 1002, failure_kind: "internal" }],
    ["runs", "failure_summary on a run that did not fail", { state: "complete", ...finished, failure_summary: "x" }],
    ["runs", "an unknown failure_kind", { state: "failed", finished_at: 1002, failure_kind: "flaky", failure_summary: "x" }],
    [
      "runs",
      "a failure_summary over 600 characters",
      { state: "failed", finished_at: 1002, failure_kind: "internal", failure_summary: big },
    ],
    ["runs", "superseded without superseded_by", { state: "superseded", finished_at: 1002 }],
    ["runs", "superseded_by on a run that was not superseded", { state: "cancelled", finished_at: 1002, superseded_by: runId }],
    ["runs", "superseded by itself", { id: 5000, state: "superseded", finished_at: 1002, superseded_by: 5000 }],
    ["runs", "superseded by an older run", { id: 5001, state: "superseded", finished_at: 1002, superseded_by: runId }],
    ["runs", "a token on a finished run", { state: "complete", ...finished, token_hash: randomBytes(32) }],
    ["runs", "dirty neither 0 nor 1", { dirty: 2 }],
    ["runs", "no_cache neither 0 nor 1", { no_cache: 2 }],
    ["runs", "a spec that is not JSON", { spec: "{jobs:" }],
    ["runs", "a time that is not an integer", { created_at: "yesterday" }, "SQLITE_CONSTRAINT_DATATYPE"],
    ["runs", "no repo", { repo: null }, "SQLITE_CONSTRAINT_NOTNULL"],
    [
      "runs",
      "superseded_by a run that does not exist",
      { id: 5002, state: "superseded", finished_at: 1002, superseded_by: 9999 },
      "SQLITE_CONSTRAINT_FOREIGNKEY",
    ],
    ["runs", "two live runs of one (repo, ref, pipeline)", { repo: "/r" }, "SQLITE_CONSTRAINT_UNIQUE"],
    ["runs", "an empty idempotency key", { idempotency_key: "" }],
    ["runs", "an idempotency key over 128 characters", { idempotency_key: "k".repeat(129) }],
    ["runs", "a second run with the same idempotency key", { idempotency_key: "taken" }, "SQLITE_CONSTRAINT_UNIQUE"],

    ["jobs", "an unknown state", { state: "waiting" }],
    ["jobs", "attempt 0", { attempt: 0 }],
    ["jobs", "a negative position", { position: -1 }],
    ["jobs", "an empty name", { name: "" }],
    ["jobs", "pending with started_at", { started_at: 1001 }],
    ["jobs", "pending with finished_at", { finished_at: 1002 }],
    ["jobs", "active without started_at", { state: "active" }],
    ["jobs", "active with finished_at", { state: "active", ...finished }],
    ["jobs", "complete without started_at", { state: "complete", finished_at: 1002 }],
    ["jobs", "complete without finished_at", { state: "complete", started_at: 1001 }],
    ["jobs", "failed without finished_at", { state: "failed", started_at: 1001 }],
    ["jobs", "cancelled without finished_at", { state: "cancelled" }],
    ["jobs", "skipped with started_at", { state: "skipped", ...finished }],
    ["jobs", "skipped without finished_at", { state: "skipped" }],
    ["jobs", "finished_at before started_at", { state: "failed", started_at: 1005, finished_at: 1004 }],
    ["jobs", "an exit code while pending", { exit_code: 0 }],
    ["jobs", "an exit code while active", { state: "active", started_at: 1001, exit_code: 1 }],
    ["jobs", "an exit code on a skipped job", { state: "skipped", finished_at: 1002, exit_code: 0 }],
    ["jobs", "complete with a non-zero exit code", { state: "complete", ...finished, exit_code: 1 }],
    ["jobs", "failed with exit code 0", { state: "failed", ...finished, exit_code: 0 }],
    ["jobs", "a second job of the same name in a run", { name: "build" }, "SQLITE_CONSTRAINT_UNIQUE"],
    ["jobs", "a second job at the same position in a run", { position: 0 }, "SQLITE_CONSTRAINT_UNIQUE"],
    ["jobs", "a job of a run that does not exist", { run_id: 9999 }, "SQLITE_CONSTRAINT_FOREIGNKEY"],
    ["jobs", "cached without the run that proved it", { state: "cached", finished_at: 1002, inputs: HASH }],
    ["jobs", "cached_from on a job that is not cached", { state: "complete", ...finished, inputs: HASH, cached_from: otherRun }],
    ["jobs", "cached from its own run", { state: "cached", finished_at: 1002, inputs: HASH, cached_from: runId }],
    [
      "jobs",
      "cached from a run that does not exist",
      { state: "cached", finished_at: 1002, inputs: HASH, cached_from: 9999 },
      "SQLITE_CONSTRAINT_FOREIGNKEY",
    ],
    ["jobs", "cached with started_at", { state: "cached", ...finished, inputs: HASH, cached_from: otherRun }],
    ["jobs", "cached without finished_at", { state: "cached", inputs: HASH, cached_from: otherRun }],
    ["jobs", "cached with an exit code", { state: "cached", finished_at: 1002, inputs: HASH, cached_from: otherRun, exit_code: 0 }],
    ["jobs", "cached without inputs", { state: "cached", finished_at: 1002, cached_from: otherRun }],
    ["jobs", "inputs on a job that failed", { state: "failed", ...finished, inputs: HASH }],
    ["jobs", "inputs on a job still active", { state: "active", started_at: 1001, inputs: HASH }],
    ["jobs", "inputs that are not a hex SHA-256", { state: "complete", ...finished, inputs: HASH.toUpperCase() }],
    ["jobs", "inputs of the wrong length", { state: "complete", ...finished, inputs: HASH.slice(1) }],

    ["steps", "an unknown state", { state: "done" }],
    ["steps", "attempt 0", { attempt: 0 }],
    ["steps", "a negative position", { position: -1 }],
    ["steps", "pending with started_at", { started_at: 1001 }],
    ["steps", "pending with finished_at", { finished_at: 1002 }],
    ["steps", "active without started_at", { state: "active" }],
    ["steps", "active with finished_at", { state: "active", ...finished }],
    ["steps", "complete without started_at", { state: "complete", finished_at: 1002, exit_code: 0 }],
    ["steps", "complete without finished_at", { state: "complete", started_at: 1001, exit_code: 0 }],
    ["steps", "complete without an exit code", { state: "complete", ...finished }],
    ["steps", "complete with a non-zero exit code", { state: "complete", ...finished, exit_code: 2 }],
    ["steps", "failed with exit code 0", { state: "failed", ...finished, exit_code: 0 }],
    ["steps", "failed without finished_at", { state: "failed", started_at: 1001, exit_code: 1 }],
    ["steps", "cancelled without finished_at", { state: "cancelled", started_at: 1001 }],
    ["steps", "skipped with started_at", { state: "skipped", ...finished }],
    ["steps", "skipped without finished_at", { state: "skipped" }],
    ["steps", "finished_at before started_at", { state: "failed", started_at: 1005, finished_at: 1004 }],
    ["steps", "an exit code while pending", { exit_code: 0 }],
    ["steps", "an exit code while active", { state: "active", started_at: 1001, exit_code: 0 }],
    ["steps", "an exit code on a skipped step", { state: "skipped", finished_at: 1002, exit_code: 1 }],
    ["steps", "an absolute log path", { log: "/etc/passwd" }],
    ["steps", "a log path leaving logs/", { log: "1/../../secret.key" }],
    ["steps", "an empty log path", { log: "" }],
    ["steps", "a second step at the same (job, attempt, position)", { position: 0 }, "SQLITE_CONSTRAINT_UNIQUE"],
    ["steps", "a step of a job that does not exist", { job_id: 9999 }, "SQLITE_CONSTRAINT_FOREIGNKEY"],

    ["annotations", "empty text", { text: "" }],
    ["annotations", "text over 4096 characters", { text: "y".repeat(4097) }],
    ["annotations", "a step without its job", { job: null }],
    ["annotations", "an annotation of a run that does not exist", { run_id: 9999 }, "SQLITE_CONSTRAINT_FOREIGNKEY"],

    ["secrets", "a lower-case name", { name: "token" }],
    ["secrets", "a name starting with a digit", { name: "1TOKEN" }],
    ["secrets", "a nonce that is not 24 bytes", { nonce: Buffer.alloc(23) }],
    ["secrets", "a box shorter than secretbox's 16-byte tag", { box: Buffer.alloc(15) }],

    ["step_tokens", "a hash that is not 32 bytes", { token_hash: randomBytes(31) }],
    ["step_tokens", "a token of a step that is not running", { step_id: 1 }, TRIGGER],
    ["step_tokens", "a token of a step that does not exist", { step_id: 9999 }, TRIGGER],
  ];

  test("the valid rows the cases start from, and each state's valid shape, are accepted", () => {
    const valid: [string, Record<string, unknown>][] = [
      ["runs", {}],
      ["runs", { state: "active", started_at: 1001 }],
      ["runs", { state: "complete", ...finished }],
      ["runs", { state: "failed", finished_at: 1002, failure_kind: "orphaned", failure_summary: "x".repeat(600) }],
      ["runs", { state: "cancelled", finished_at: 1000 }],
      ["runs", { id: 6000, state: "superseded", finished_at: 1002, superseded_by: 6001 }],
      ["runs", { id: 6001 }],
      ["runs", { idempotency_key: "k".repeat(128) }],
      ["runs", { state: "cancelled", finished_at: 1000, idempotency_key: "k" }],
      ["jobs", {}],
      ["jobs", { state: "active", started_at: 1001 }],
      ["jobs", { state: "complete", ...finished, exit_code: 0 }],
      ["jobs", { state: "failed", finished_at: 1002 }],
      ["jobs", { state: "cancelled", ...finished }],
      ["jobs", { state: "skipped", finished_at: 1002 }],
      ["jobs", { state: "complete", ...finished, exit_code: 0, inputs: HASH }],
      ["jobs", { state: "cached", finished_at: 1002, inputs: HASH, cached_from: otherRun }],
      ["runs", { no_cache: 1 }],
      ["steps", {}],
      ["steps", { state: "active", started_at: 1001 }],
      ["steps", { state: "complete", ...finished, exit_code: 0 }],
      ["steps", { state: "failed", ...finished, exit_code: 1 }],
      ["steps", { state: "cancelled", finished_at: 1002 }],
      ["steps", { state: "skipped", finished_at: 1002 }],
      ["annotations", {}],
      ["annotations", { job: null, step: null, text: "z".repeat(4096) }],
      ["secrets", {}],
      ["secrets", { name: "_A1" }],
      ["step_tokens", {}],
    ];
    const rollback = new Error("roll back");
    assert.throws(
      () =>
        raw.transaction(() => {
          for (const [table, change] of valid) insert(raw, table, { ...bases[table]!(), ...change });
          throw rollback;
        })(),
      rollback,
    );
  });

  for (const [table, what, change, code = CHECK] of cases) {
    test(`${table}: ${what}`, () => {
      const row = { ...bases[table]!(), ...change };
      assert.throws(() => raw.transaction(() => insert(raw, table, row))(), { code });
    });
  }
});

describe("the one-live-run index", () => {
  test("allows one live run per (repo, ref, pipeline), and any number of finished ones", () => {
    const file = freshFile();
    openStore(file);
    const raw = rawDb(file);
    const row = (over: Record<string, unknown>) => ({
      repo: "/r",
      ref: "main",
      pipeline: "demo",
      pipeline_file: "quire.yml",
      spec: "{}",
      state: "pending",
      created_at: 1,
      dirty: 0,
      workspace: "/ws",
      ...over,
    });
    insert(raw, "runs", row({ state: "complete", started_at: 2, finished_at: 3 }));
    insert(raw, "runs", row({ state: "cancelled", finished_at: 3 }));
    const live = insert(raw, "runs", row({ state: "active", started_at: 2 }));
    assert.throws(() => insert(raw, "runs", row({})), { code: "SQLITE_CONSTRAINT_UNIQUE" });
    assert.throws(() => insert(raw, "runs", row({ state: "active", started_at: 2 })), { code: "SQLITE_CONSTRAINT_UNIQUE" });
    insert(raw, "runs", row({ ref: "dev" }));
    insert(raw, "runs", row({ pipeline: "nightly" }));
    insert(raw, "runs", row({ repo: "/other" }));
    raw.prepare(`UPDATE runs SET state = 'complete', finished_at = 4 WHERE id = ?`).run(live);
    insert(raw, "runs", row({}));
  });
});

describe("RunStore", () => {
  test("createRun inserts a pending run with pending jobs and attempt 1's pending steps", () => {
    const store = openStore();
    const input = newRun({ dirty: true, commit: null });
    const { run, superseded } = store.createRun(input, 100);
    assert.deepEqual(superseded, []);
    assert.equal(run.state, "pending");
    const view = store.getRun(run.id)!;
    assert.deepEqual(
      { ...view, spec: undefined },
      {
        id: run.id,
        repo: "/src/app",
        ref: "main",
        pipeline: "demo",
        pipelineFile: "quire.yml",
        spec: undefined,
        state: "pending",
        failureKind: null,
        failureSummary: null,
        supersededBy: null,
        createdAt: 100,
        startedAt: null,
        finishedAt: null,
        commit: null,
        tree: "7ree",
        dirty: true,
        workspace: "/ws/1",
        trigger: "manual",
        notify: false,
        noCache: false,
        rerunOf: null,
        annotations: [],
        jobs: [
          {
            name: "build",
            state: "pending",
            attempt: 1,
            exitCode: null,
            startedAt: null,
            finishedAt: null,
            cachedFrom: null,
            steps: [
              {
                index: 0,
                attempt: 1,
                name: "build 0",
                command: "echo build 0",
                state: "pending",
                exitCode: null,
                startedAt: null,
                finishedAt: null,
                log: `${run.id}/build/1-0.log`,
              },
              {
                index: 1,
                attempt: 1,
                name: "build 1",
                command: "echo build 1",
                state: "pending",
                exitCode: null,
                startedAt: null,
                finishedAt: null,
                log: `${run.id}/build/1-1.log`,
              },
            ],
          },
          {
            name: "test",
            state: "pending",
            attempt: 1,
            exitCode: null,
            startedAt: null,
            finishedAt: null,
            cachedFrom: null,
            steps: [
              {
                index: 0,
                attempt: 1,
                name: "test 0",
                command: "echo test 0",
                state: "pending",
                exitCode: null,
                startedAt: null,
                finishedAt: null,
                log: `${run.id}/test/1-0.log`,
              },
            ],
          },
        ],
      },
    );
    assert.deepEqual(view.spec, input.pipeline);
  });

  test("a run goes through its life: jobs and steps start and end with their times and exit codes", () => {
    const store = openStore();
    const { run } = store.createRun(newRun(), 100);
    assert.equal(store.startJob(run.id, "build", 101), false, "a job cannot start in a pending run");
    assert.ok(store.startRun(run.id, 101));
    assert.equal(store.startStep(run.id, "build", 1, 0, 102), false, "a step cannot start in a pending job");
    assert.ok(store.startJob(run.id, "build", 102));
    assert.equal(store.startStep(run.id, "build", 2, 0, 103), false, "attempt 2 does not exist yet");
    assert.ok(store.startStep(run.id, "build", 1, 0, 103));
    assert.ok(store.finishStep(run.id, "build", 1, 0, "complete", 0, 104));
    assert.ok(store.startStep(run.id, "build", 1, 1, 105));
    assert.ok(store.finishStep(run.id, "build", 1, 1, "failed", 3, 106));
    assert.ok(store.finishJob(run.id, "build", "failed", 3, 107));
    assert.ok(store.skipJob(run.id, "test", 107));
    assert.ok(store.finishRun(run.id, { state: "failed", kind: "pipeline-failure", summary: 'job build, step "build 1" exited 3' }, 108));
    const view = store.getRun(run.id)!;
    assert.equal(view.state, "failed");
    assert.equal(view.failureKind, "pipeline-failure");
    assert.deepEqual([view.startedAt, view.finishedAt], [101, 108]);
    assert.deepEqual(
      job(view, "build").steps.map((s) => [s.state, s.exitCode, s.startedAt, s.finishedAt]),
      [
        ["complete", 0, 103, 104],
        ["failed", 3, 105, 106],
      ],
    );
    assert.deepEqual([job(view, "build").state, job(view, "build").exitCode], ["failed", 3]);
    assert.deepEqual(
      job(view, "test").steps.map((s) => s.state),
      ["skipped"],
    );
    assert.deepEqual([job(view, "test").state, job(view, "test").startedAt, job(view, "test").finishedAt], ["skipped", null, 107]);
  });

  test("first terminal write wins for runs: a late write returns false and changes nothing", () => {
    const store = openStore();
    const { run } = store.createRun(newRun(), 100);
    assert.equal(store.finishRun(run.id, { state: "complete" }, 101), false, "a pending run cannot complete");
    store.startRun(run.id, 101);
    assert.ok(store.finishRun(run.id, { state: "cancelled" }, 102));
    const before = store.getRun(run.id);
    assert.equal(store.finishRun(run.id, { state: "complete" }, 103), false);
    assert.equal(store.finishRun(run.id, { state: "failed", kind: "timeout", summary: "late" }, 104), false);
    assert.equal(store.startRun(run.id, 105), false);
    assert.deepEqual(store.getRun(run.id), before);
    assert.equal(store.finishRun(9999, { state: "cancelled" }, 106), false, "an unknown run");
  });

  test("first terminal write wins for jobs and steps", () => {
    const store = openStore();
    const { run } = store.createRun(newRun(), 100);
    store.startRun(run.id, 101);
    store.startJob(run.id, "build", 102);
    store.startStep(run.id, "build", 1, 0, 103);
    assert.ok(store.finishStep(run.id, "build", 1, 0, "failed", 1, 104));
    assert.equal(store.finishStep(run.id, "build", 1, 0, "complete", 0, 105), false);
    assert.equal(store.finishStep(run.id, "build", 1, 0, "cancelled", null, 105), false);
    assert.equal(store.startStep(run.id, "build", 1, 0, 105), false);
    assert.equal(store.finishStep(run.id, "build", 1, 1, "complete", 0, 105), false, "a pending step cannot complete");
    assert.ok(store.finishJob(run.id, "build", "failed", 1, 106));
    assert.equal(store.finishJob(run.id, "build", "complete", 0, 107), false);
    assert.equal(store.startJob(run.id, "build", 107), false);
    assert.equal(store.skipJob(run.id, "build", 107), false);
    assert.equal(store.retryJob(run.id, "build", 107), undefined, "a finished job is not retried");
    assert.equal(store.finishJob(run.id, "test", "complete", 0, 107), false, "a pending job cannot complete");
    assert.ok(store.skipJob(run.id, "test", 107));
    assert.equal(store.finishJob(run.id, "test", "failed", 1, 108), false);
    const view = store.getRun(run.id)!;
    assert.deepEqual(
      job(view, "build").steps.map((s) => [s.state, s.exitCode, s.finishedAt]),
      [
        ["failed", 1, 104],
        ["skipped", null, 106],
      ],
    );
    assert.deepEqual([job(view, "build").state, job(view, "build").exitCode, job(view, "build").finishedAt], ["failed", 1, 106]);
    assert.deepEqual([job(view, "test").state, job(view, "test").finishedAt], ["skipped", 107]);
  });

  test("runState, stepState and stepOfJob agree with the whole run's view, across a retry's attempts", () => {
    const store = openStore();
    const { run } = store.createRun(newRun(), 100);
    store.startRun(run.id, 101);
    store.startJob(run.id, "build", 102);
    store.startStep(run.id, "build", 1, 0, 103);
    assert.equal(store.retryJob(run.id, "build", 104), 2);
    store.startStep(run.id, "build", 2, 0, 105);
    const view = store.getRun(run.id)!;
    assert.equal(store.runState(run.id), view.state);
    const steps = job(view, "build").steps;
    assert.equal(steps.length, 4, "two attempts of two steps");
    steps.forEach((step, n) => {
      assert.deepEqual(store.stepOfJob(run.id, "build", n), step);
      assert.equal(store.stepState(run.id, "build", step.attempt, step.index), step.state);
    });
    assert.deepEqual(
      steps.map((s) => [s.attempt, s.index, s.state]),
      [
        [1, 0, "cancelled"],
        [1, 1, "skipped"],
        [2, 0, "active"],
        [2, 1, "pending"],
      ],
    );
    assert.equal(store.stepOfJob(run.id, "build", 4), undefined);
    assert.equal(store.stepState(run.id, "build", 3, 0), undefined);
    assert.equal(store.stepOfJob(run.id, "nope", 0), undefined);
    assert.equal(store.runState(run.id + 1), undefined);
  });

  test("ending a run ends its unfinished jobs and steps: active ones cancelled, pending ones skipped", () => {
    const store = openStore();
    const { run } = store.createRun(newRun(), 100);
    store.startRun(run.id, 101);
    store.startJob(run.id, "build", 102);
    store.startStep(run.id, "build", 1, 0, 103);
    assert.ok(store.finishRun(run.id, { state: "cancelled" }, 110));
    const view = store.getRun(run.id)!;
    assert.deepEqual(
      view.jobs.map((j) => [j.name, j.state, j.finishedAt]),
      [
        ["build", "cancelled", 110],
        ["test", "skipped", 110],
      ],
    );
    assert.deepEqual(
      view.jobs.flatMap((j) => j.steps.map((s) => s.state)),
      ["cancelled", "skipped", "skipped"],
    );
    assert.equal(store.stats().jobsActive, 0);
  });

  test("the job cache: a complete job's inputs prove a later job of the same inputs, which becomes cached with that run's logs", () => {
    const store = openStore();
    const inputs = "ab".repeat(32);
    const { run: first } = store.createRun(newRun(), 100);
    store.startRun(first.id, 101);
    store.startJob(first.id, "build", 102);
    assert.equal(store.retryJob(first.id, "build", 103), 2);
    assert.ok(store.finishJob(first.id, "build", "complete", 0, 104, inputs));
    store.startJob(first.id, "test", 105);
    assert.ok(store.finishJob(first.id, "test", "failed", 1, 106, "cd".repeat(32)), "a failed job's inputs are not kept");
    assert.equal(store.provenBy("cd".repeat(32), 0), undefined);
    assert.equal(store.provenBy(inputs, first.id), undefined, "never by the asking run itself");
    assert.equal(store.provenBy(inputs, 0), first.id);

    const { run: second } = store.createRun(newRun({ ref: "other" }), 200);
    assert.equal(store.cacheJob(second.id, "build", inputs, first.id, 201), false, "not while the run is pending");
    store.startRun(second.id, 201);
    assert.equal(
      store.cacheJob(second.id, "build", "ef".repeat(32), first.id, 202),
      false,
      "not from a run without a complete job of those inputs",
    );
    assert.ok(store.cacheJob(second.id, "build", inputs, first.id, 202));
    assert.equal(store.cacheJob(second.id, "build", inputs, first.id, 203), false, "only a pending job");
    const build = job(store.getRun(second.id)!, "build");
    assert.deepEqual(
      [build.state, build.cachedFrom, build.exitCode, build.startedAt, build.finishedAt],
      ["cached", first.id, null, null, 202],
    );
    assert.deepEqual(
      build.steps.map((st) => [st.state, st.log]),
      [
        ["skipped", `${first.id}/build/2-0.log`],
        ["skipped", `${first.id}/build/2-1.log`],
      ],
      "the proving job's last attempt's logs",
    );
    assert.equal(store.provenBy(inputs, first.id), undefined, "a cached job proves nothing itself: its proof is the complete job");
    assert.equal(store.jobState(second.id, "build"), "cached");
  });

  test("a run recorded before jobs had caches reads back with their defaults, so a requeued run can still run", () => {
    const file = freshFile();
    const store = openStore(file);
    const old = pipeline() as unknown as { jobs: Record<string, unknown>[] };
    for (const job of old.jobs) for (const field of ["cache", "inputs", "outputPaths", "inputTree"]) delete job[field];
    const id = insert(rawDb(file), "runs", {
      repo: "/r",
      ref: "main",
      pipeline: "demo",
      pipeline_file: "quire.yml",
      spec: JSON.stringify(old),
      state: "pending",
      created_at: 1,
      dirty: 0,
      workspace: ".",
    });
    const [build] = store.getRun(id)!.spec.jobs;
    assert.deepEqual([build!.name, build!.cache, build!.inputs, build!.outputPaths, build!.inputTree], ["build", [], null, [], null]);
    assert.equal(build!.steps.length, 2);
  });

  test("a run asked to run every job keeps no_cache", () => {
    const store = openStore();
    const { run } = store.createRun(newRun({ noCache: true }), 100);
    assert.equal(store.getRun(run.id)!.noCache, true);
    assert.equal(store.getRun(store.createRun(newRun({ ref: "b" }), 100).run.id)!.noCache, false);
  });

  test("a failure summary longer than 600 characters is cut, never refused", () => {
    const store = openStore();
    const { run } = store.createRun(newRun(), 100);
    assert.ok(store.finishRun(run.id, { state: "failed", kind: "internal", summary: "é".repeat(2000) }, 101));
    const summary = store.getRun(run.id)!.failureSummary!;
    assert.equal([...summary].length, 600);
    assert.ok(summary.endsWith("…"));
  });

  test("createRun supersedes the live run of the same (repo, ref, pipeline) in one transaction", () => {
    const store = openStore();
    const a = store.createRun(newRun(), 100).run;
    store.startRun(a.id, 101);
    store.startJob(a.id, "build", 102);
    store.startStep(a.id, "build", 1, 0, 103);
    const token = randomBytes(32);
    assert.ok(store.issueStepToken(a.id, "build", 1, 0, token));
    const other = store.createRun(newRun({ ref: "dev" }), 104).run;
    const { run: b, superseded } = store.createRun(newRun(), 110);
    assert.deepEqual(superseded, [a.id]);
    const old = store.getRun(a.id)!;
    assert.deepEqual([old.state, old.supersededBy, old.finishedAt, old.failureKind], ["superseded", b.id, 110, null]);
    assert.deepEqual(
      old.jobs.map((j) => j.state),
      ["cancelled", "skipped"],
    );
    assert.deepEqual(
      old.jobs.flatMap((j) => j.steps.map((s) => s.state)),
      ["cancelled", "skipped", "skipped"],
    );
    assert.equal(store.stepForToken(token), undefined, "the superseded run's step token died with its step");
    assert.equal(store.getRun(b.id)!.state, "pending");
    assert.equal(store.getRun(other.id)!.state, "pending", "another ref is not superseded");
    assert.deepEqual(
      store.liveRuns().map((r) => r.id),
      [other.id, b.id],
    );
    // A pending run is superseded the same way, before it ever started.
    const c = store.createRun(newRun(), 120);
    assert.deepEqual(c.superseded, [b.id]);
    assert.deepEqual([store.getRun(b.id)!.state, store.getRun(b.id)!.startedAt, store.getRun(b.id)!.finishedAt], ["superseded", null, 120]);
  });

  test("createRun with an idempotency key a run was recorded for returns that run and changes nothing", () => {
    const store = openStore();
    const { run: a, recordedBefore } = store.createRun(newRun({ idempotencyKey: "once" }), 100);
    assert.equal(recordedBefore, false);
    assert.equal(store.runForIdempotencyKey("once"), a.id);
    store.startRun(a.id, 101);
    store.finishRun(a.id, { state: "complete" }, 102);
    const other = store.createRun(newRun({ ref: "dev" }), 103).run;
    const before = store.listRuns();
    // Even for another (repo, ref, pipeline), and with the run finished: the key names that run, ever.
    const again = store.createRun(newRun({ ref: "dev", idempotencyKey: "once" }), 110);
    assert.deepEqual([again.run.id, again.run.state, again.superseded, again.recordedBefore], [a.id, "complete", [], true]);
    assert.deepEqual(store.listRuns(), before, "nothing was written: the live run of (repo, dev, demo) was not superseded");
    assert.equal(store.getRun(other.id)!.state, "pending");
    assert.equal(store.runForIdempotencyKey("never used"), undefined);
    assert.equal(store.createRun(newRun({ repo: "/b", idempotencyKey: "twice" }), 120).recordedBefore, false, "another key is another run");
  });

  test("when the new run cannot be inserted, the live run is not superseded either", () => {
    const store = openStore();
    const a = store.createRun(newRun(), 100).run;
    const broken = pipeline("demo", [
      ["build", 1],
      ["build", 1],
    ]); // the parser never lets this through
    assert.throws(() => store.createRun(newRun({ pipeline: broken }), 101), { code: "SQLITE_CONSTRAINT_UNIQUE" });
    assert.equal(store.getRun(a.id)!.state, "pending");
    assert.deepEqual(
      store.liveRuns().map((r) => r.id),
      [a.id],
    );
    assert.equal(store.listRuns().length, 1);
  });

  test("recoverAfterCrash fails active runs as orphaned, ends their work, and hands back pending runs", () => {
    const store = openStore();
    const a = store.createRun(newRun({ repo: "/a" }), 100).run;
    store.startRun(a.id, 101);
    store.startJob(a.id, "build", 102);
    store.startStep(a.id, "build", 1, 0, 103);
    const token = randomBytes(32);
    assert.ok(store.issueStepToken(a.id, "build", 1, 0, token));
    const done = store.createRun(newRun({ repo: "/done" }), 100).run;
    store.startRun(done.id, 101);
    store.finishRun(done.id, { state: "complete" }, 102);
    const doneBefore = store.getRun(done.id);
    const p = store.createRun(newRun({ repo: "/p" }), 104).run;

    assert.deepEqual(store.recoverAfterCrash(200), { orphaned: [a.id], requeued: [p.id] });
    const view = store.getRun(a.id)!;
    assert.deepEqual([view.state, view.failureKind, view.finishedAt], ["failed", "orphaned", 200]);
    assert.match(view.failureSummary!, /daemon stopped/);
    assert.deepEqual(
      view.jobs.map((j) => j.state),
      ["failed", "skipped"],
    );
    assert.deepEqual(
      view.jobs.flatMap((j) => j.steps.map((s) => s.state)),
      ["failed", "skipped", "skipped"],
    );
    assert.equal(store.stepForToken(token), undefined, "the orphaned step's token died with it");
    assert.equal(store.getRun(p.id)!.state, "pending");
    assert.deepEqual(store.getRun(done.id), doneBefore);
    assert.deepEqual(store.recoverAfterCrash(300), { orphaned: [], requeued: [p.id] }, "recovery twice changes nothing more");
  });

  test("the store survives a close and a reopen (recovery after a real restart)", () => {
    const file = freshFile();
    const store = RunStore.open(file);
    const { run } = store.createRun(newRun(), 100);
    store.startRun(run.id, 101);
    store.close();
    const again = openStore(file);
    assert.deepEqual(again.recoverAfterCrash(150).orphaned, [run.id]);
  });

  test("retryJob starts the next attempt with fresh pending steps, keeping the earlier attempt's", () => {
    const store = openStore();
    const { run } = store.createRun(newRun(), 100);
    store.startRun(run.id, 101);
    store.startJob(run.id, "build", 102);
    store.startStep(run.id, "build", 1, 0, 103);
    store.finishStep(run.id, "build", 1, 0, "failed", 1, 104);
    assert.equal(store.retryJob(run.id, "build", 105), 2);
    assert.equal(store.startStep(run.id, "build", 1, 1, 106), false, "attempt 1 is over");
    assert.ok(store.startStep(run.id, "build", 2, 0, 106));
    const view = store.getRun(run.id)!;
    const build = job(view, "build");
    assert.deepEqual([build.state, build.attempt, build.startedAt], ["active", 2, 102]);
    assert.deepEqual(
      build.steps.map((s) => [s.attempt, s.index, s.state, s.log]),
      [
        [1, 0, "failed", `${run.id}/build/1-0.log`],
        [1, 1, "skipped", `${run.id}/build/1-1.log`],
        [2, 0, "active", `${run.id}/build/2-0.log`],
        [2, 1, "pending", `${run.id}/build/2-1.log`],
      ],
    );
    assert.equal(store.retryJob(run.id, "test", 107), undefined, "a pending job is not retried");
  });

  test("a step token names its run, job and step only while the step is active, whichever write ends it", () => {
    const store = openStore();
    const { run } = store.createRun(
      newRun({
        pipeline: pipeline("demo", [
          ["build", 3],
          ["test", 1],
        ]),
      }),
      100,
    );
    const token = () => randomBytes(32);
    const first = token();
    assert.equal(store.issueStepToken(run.id, "build", 1, 0, first), false, "a pending step gets none");
    store.startRun(run.id, 101);
    store.startJob(run.id, "build", 102);
    store.startStep(run.id, "build", 1, 0, 103);
    assert.ok(store.issueStepToken(run.id, "build", 1, 0, first));
    assert.deepEqual(store.stepForToken(first), { runId: run.id, job: "build", step: "build 0", attempt: 1, index: 0 });
    assert.equal(store.stepForToken(token()), undefined);
    assert.throws(() => store.issueStepToken(run.id, "build", 1, 0, token()), { code: "SQLITE_CONSTRAINT_UNIQUE" }, "one token per step");
    store.finishStep(run.id, "build", 1, 0, "complete", 0, 104);
    assert.equal(store.stepForToken(first), undefined, "finishStep");
    assert.equal(store.issueStepToken(run.id, "build", 1, 0, token()), false, "an ended step gets none");

    const ends: [string, (id: number) => void][] = [
      ["retryJob", (id) => store.retryJob(id, "build", 110)],
      ["finishJob", (id) => store.finishJob(id, "build", "failed", 1, 110)],
      ["finishRun", (id) => store.finishRun(id, { state: "cancelled" }, 110)],
    ];
    for (const [write, end] of ends) {
      const { run: r } = store.createRun(newRun({ repo: `/src/${write}` }), 105);
      store.startRun(r.id, 106);
      store.startJob(r.id, "build", 107);
      store.startStep(r.id, "build", 1, 0, 108);
      const live = token();
      assert.ok(store.issueStepToken(r.id, "build", 1, 0, live));
      end(r.id);
      assert.equal(store.stepForToken(live), undefined, write);
    }
  });

  test("annotations belong to their run, in order; bad ones are refused with typed errors", () => {
    const store = openStore();
    const { run } = store.createRun(newRun(), 100);
    store.annotate(run.id, "build", "build 0", "coverage 91%", 101);
    store.annotate(run.id, null, null, "✓ ".repeat(2048), 102); // 4096 characters, more UTF-16 units
    assert.deepEqual(store.getRun(run.id)!.annotations, [
      { text: "coverage 91%", job: "build", step: "build 0", createdAt: 101 },
      { text: "✓ ".repeat(2048), job: null, step: null, createdAt: 102 },
    ]);
    assert.throws(() => store.annotate(run.id, null, null, "", 103), { code: "QUIRE_ERR_STORE_ANNOTATION_INVALID" });
    assert.throws(() => store.annotate(run.id, null, null, "x".repeat(4097), 103), { code: "QUIRE_ERR_STORE_ANNOTATION_INVALID" });
    assert.throws(() => store.annotate(9999, null, null, "x", 103), { code: "QUIRE_ERR_RUN_NOT_FOUND" });
  });

  test("listRuns is newest first with whole runs; liveRuns and stats count what is live", () => {
    const store = openStore();
    const ids = [1, 2, 3].map((i) => store.createRun(newRun({ ref: `r${i}` }), 100 + i).run.id);
    store.startRun(ids[0]!, 110);
    store.startJob(ids[0]!, "build", 111);
    store.startStep(ids[0]!, "build", 1, 0, 112);
    store.startRun(ids[1]!, 110);
    store.finishRun(ids[1]!, { state: "cancelled" }, 111);
    store.annotate(ids[2]!, null, null, "newest", 113);
    const list = store.listRuns();
    assert.deepEqual(
      list.map((r) => r.id),
      [...ids].reverse(),
    );
    assert.deepEqual(
      list[0]!.annotations.map((a) => a.text),
      ["newest"],
    );
    assert.deepEqual(list[2], store.getRun(ids[0]!));
    assert.deepEqual(
      store.listRuns(2).map((r) => r.id),
      [ids[2], ids[1]],
    );
    assert.deepEqual(store.listRuns(2)[1], store.getRun(ids[1]!));
    assert.deepEqual(
      store.liveRuns().map((r) => [r.id, r.state]),
      [
        [ids[0], "active"],
        [ids[2], "pending"],
      ],
    );
    assert.deepEqual(store.stats(), {
      runsByState: { pending: 1, active: 1, complete: 0, failed: 0, cancelled: 1, superseded: 0 },
      runsByOutcome: [
        { state: "active", failureKind: "", n: 1 },
        { state: "cancelled", failureKind: "", n: 1 },
        { state: "pending", failureKind: "", n: 1 },
      ],
      jobsActive: 1,
      stepsActive: 1,
    });
    assert.equal(store.getRun(9999), undefined);
  });

  test("secrets: put, replace, read back, list names, delete", () => {
    const store = openStore();
    const nonce = randomBytes(24);
    store.putSecret("NPM_TOKEN", randomBytes(24), randomBytes(40), 100);
    store.putSecret("NPM_TOKEN", nonce, Buffer.from("b".repeat(40)), 101);
    store.putSecret("AWS_KEY", randomBytes(24), randomBytes(40), 102);
    assert.deepEqual(store.getSecret("NPM_TOKEN"), { nonce, box: Buffer.from("b".repeat(40)) });
    assert.deepEqual(store.secretNames(), ["AWS_KEY", "NPM_TOKEN"]);
    assert.ok(store.deleteSecret("AWS_KEY"));
    assert.equal(store.deleteSecret("AWS_KEY"), false);
    assert.equal(store.getSecret("AWS_KEY"), undefined);
    assert.throws(() => store.putSecret("npm-token", nonce, randomBytes(40), 103), { code: "QUIRE_ERR_STORE_SECRET_INVALID" });
    assert.throws(() => store.putSecret("OK", randomBytes(8), randomBytes(40), 103), { code: "QUIRE_ERR_STORE_SECRET_INVALID" });
  });

  test("a clock stepped back never makes a finish write fail: finished_at is at least started_at", () => {
    const store = openStore();
    const { run } = store.createRun(newRun(), 1000);
    assert.ok(store.startRun(run.id, 900));
    assert.ok(store.startJob(run.id, "build", 1100));
    assert.ok(store.startStep(run.id, "build", 1, 0, 1200));
    assert.ok(store.finishStep(run.id, "build", 1, 0, "complete", 0, 1150));
    assert.ok(store.finishRun(run.id, { state: "complete" }, 500));
    const view = store.getRun(run.id)!;
    assert.deepEqual([view.startedAt, view.finishedAt], [1000, 1000]);
    assert.deepEqual([job(view, "build").steps[0]!.startedAt, job(view, "build").steps[0]!.finishedAt], [1200, 1200]);
    assert.deepEqual([job(view, "build").startedAt, job(view, "build").finishedAt], [1100, 1100]);
  });
});

describe("what triggered a run", () => {
  test("a run records its trigger and whether to notify; without them it was asked for by hand and notifies nobody", () => {
    const store = openStore();
    const byHand = store.createRun(newRun({ ref: "a" }), 100).run;
    const hook = store.createRun(newRun({ ref: "b", trigger: "post-commit", notify: true }), 101).run;
    assert.deepEqual([byHand.trigger, byHand.notify], ["manual", false]);
    assert.deepEqual([hook.trigger, hook.notify], ["post-commit", true]);
    assert.deepEqual(
      store.listRuns().map((r) => [r.id, r.trigger, r.notify]),
      [
        [hook.id, "post-commit", true],
        [byHand.id, "manual", false],
      ],
    );
  });

  test("a run recorded before migration 4 reads as asked for by hand", () => {
    const file = fileAtVersion(3);
    const raw = rawDb(file);
    insert(raw, "runs", {
      repo: "/r",
      ref: "main",
      pipeline: "p",
      pipeline_file: "quire.yml",
      spec: JSON.stringify(pipeline()),
      state: "pending",
      created_at: 1,
      dirty: 0,
      workspace: ".",
    });
    raw.close();
    const [run] = openStore(file).listRuns();
    assert.deepEqual([run!.trigger, run!.notify], ["manual", false]);
  });
});
