// Runs written straight into a store, with their log files, as many finished runs as a test needs at the
// cost of one transaction for them all: what retention's tests fill a home with (a daemon runs only a few).
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import Database from "better-sqlite3";
import { jobOf, pipelineOf, stepOf } from "../../../src/ci/pipeline/model.js";
import { stepLogPath, type RunStore } from "../../../src/ci/store/index.js";

export interface SeedOptions {
  /** When the first run ends (ms since the epoch); each next one a second later. */
  from: number;
  /** Bytes of each run's one log. */
  logBytes: number;
  /** Every `failEvery`th run fails (0: none). */
  failEvery?: number;
}

/**
 * `n` finished one-step runs with their logs under `logDir`, written in one transaction on a connection of
 * its own (through the store's API each would cost seven); returns their ids, oldest first. The rows are
 * the store's own: its CHECKs hold them to the shapes it writes.
 */
export function seedRuns(store: RunStore, logDir: string, n: number, options: SeedOptions): number[] {
  const file = store.file;
  const db = new Database(file);
  try {
    db.pragma("foreign_keys = ON");
    const pipeline = JSON.stringify(
      pipelineOf({
        name: "seeded",
        file: "/src/app/quire.yml",
        jobs: [jobOf({ name: "build", steps: [stepOf({ name: "make", run: "true" })] })],
      }),
    );
    const run =
      db.prepare(`INSERT INTO runs (repo, ref, pipeline, pipeline_file, spec, state, failure_kind, failure_summary, created_at, started_at, finished_at, dirty, workspace)
      VALUES ('/src/app', @ref, 'seeded', '/src/app/quire.yml', @spec, @state, @kind, @summary, @at, @at, @at, 0, '.')`);
    const job = db.prepare(
      `INSERT INTO jobs (run_id, name, position, state, attempt, exit_code, started_at, finished_at) VALUES (?, 'build', 0, ?, 1, ?, ?, ?)`,
    );
    const step = db.prepare(
      `INSERT INTO steps (job_id, attempt, position, name, command, state, exit_code, started_at, finished_at, log) VALUES (?, 1, 0, 'make', 'true', ?, ?, ?, ?, ?)`,
    );
    const ids: number[] = [];
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const at = options.from + i * 1000;
        const failed = options.failEvery ? (i + 1) % options.failEvery === 0 : false;
        const state = failed ? "failed" : "complete";
        const id = Number(
          run.run({
            ref: `seed-${i}`,
            spec: pipeline,
            state,
            kind: failed ? "pipeline-failure" : null,
            summary: failed ? "make failed" : null,
            at,
          }).lastInsertRowid,
        );
        const jobId = Number(job.run(id, state, failed ? 1 : 0, at, at).lastInsertRowid);
        const log = stepLogPath(id, "build", 1, 0);
        step.run(jobId, state, failed ? 1 : 0, at, at, log);
        mkdirSync(dirname(join(logDir, log)), { recursive: true });
        writeFileSync(join(logDir, log), Buffer.alloc(options.logBytes, "x"));
        ids.push(id);
      }
    })();
    return ids;
  } finally {
    db.close();
  }
}

/** A cache entry as a cache writes one: cache/<name>/entry.json and its files. */
export function seedCacheEntry(cacheDir: string, name: string, createdAt: number, bytes: number): void {
  const dir = join(cacheDir, name);
  mkdirSync(join(dir, "files"), { recursive: true });
  writeFileSync(join(dir, "files", "blob"), randomBytes(bytes));
  writeFileSync(join(dir, "entry.json"), JSON.stringify({ paths: ["blob"], createdAt }));
}
