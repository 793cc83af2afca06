// CI runs against the parts they are made of: a pipeline's steps through a warm daemon vs the same
// commands through quire/runtime, submission to first byte vs a bare spawn, and the run store's step
// writes vs raw better-sqlite3 inserts of the same rows.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type BetterSqlite3 from "better-sqlite3";
import { CiClient } from "../src/client/ci.js";
import { stepCommand } from "../src/ci/runner/shell.js";
import { RunStore } from "../src/ci/store/index.js";
import { jobOf, pipelineOf, stepOf, type Pipeline } from "../src/ci/pipeline/model.js";
import { spawn } from "../src/runtime/index.js";
import { heading, note, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";
import { latency } from "./lib/stats.js";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3") as typeof BetterSqlite3;
const execFileAsync = promisify(execFile);

function pipelineText(steps: number, command: string): string {
  return `name: bench\njobs:\n  many:\n    steps:\n${Array.from({ length: steps }, () => `      - ${JSON.stringify(command)}\n`).join("")}`;
}

/** 100 trivial steps in one job, submitted and waited for, vs the same commands run one after another by run() in a fresh process. */
async function manySteps(ci: CiClient, dir: string, steps: number): Promise<void> {
  const file = join(dir, "many.yml");
  const text = pipelineText(steps, "true");
  writeFileSync(file, text);
  await ci.watch((await ci.submit(file, text)).id, () => {});
  const start = performance.now();
  const done = await ci.watch((await ci.submit(file, text)).id, () => {});
  const daemonMs = performance.now() - start;
  if (done.state !== "complete") throw new Error(`bench pipeline ended ${done.state}: ${done.failureSummary}`);
  const { stdout } = await execFileAsync(process.execPath, [fileURLToPath(new URL("./lib/run-loop.js", import.meta.url)), String(steps)]);
  const runtimeMs = Number(stdout.trim());
  report({
    bench: "ci",
    metric: `${steps} trivial steps, one job`,
    value: daemonMs,
    unit: "ms",
    baseline: { name: "run() in a loop", value: runtimeMs },
  });
}

/** Submit to the first byte of the first step's log, vs spawn to the first byte of the same command. */
async function firstByte(ci: CiClient, dir: string, rounds: number): Promise<void> {
  const file = join(dir, "first.yml");
  const text = pipelineText(1, "echo x");
  writeFileSync(file, text);
  const viaDaemon: number[] = [];
  const viaRuntime: number[] = [];
  const { file: shell, args } = stepCommand("echo x");
  for (let i = -3; i < rounds; i++) {
    let start = performance.now();
    const submitted = await ci.submit(file, text);
    let first = 0;
    await ci.logs(submitted.id, { follow: true }, () => (first ||= performance.now()));
    if (i >= 0) viaDaemon.push(first - start);
    start = performance.now();
    const child = spawn(shell, args);
    const at = await new Promise<number>((resolve) => child.once("data", () => resolve(performance.now())));
    await child.wait();
    if (i >= 0) viaRuntime.push(at - start);
  }
  const d = latency(viaDaemon);
  const r = latency(viaRuntime);
  report({ bench: "ci", metric: "submit to first byte, p50", value: d.p50, unit: "µs", baseline: { name: "spawn", value: r.p50 } });
  report({ bench: "ci", metric: "submit to first byte, p99", value: d.p99, unit: "µs", baseline: { name: "spawn", value: r.p99 } });
}

/** startStep + finishStep per step (two updates, each its own commit) vs two raw inserts of the same columns. */
function storeWrites(dir: string, steps: number): void {
  const store = RunStore.open(join(dir, "bench.db"));
  const pipeline: Pipeline = pipelineOf({
    name: "bench",
    file: join(dir, "quire.yml"),
    jobs: [jobOf({ name: "j", steps: Array.from({ length: steps }, (_, i) => stepOf({ name: `s${i}`, run: "true" })) })],
  });
  const { run } = store.createRun({ repo: dir, ref: "main", pipeline, commit: null, tree: null, dirty: false, workspace: "." }, Date.now());
  store.startRun(run.id, Date.now());
  store.startJob(run.id, "j", Date.now());
  let start = performance.now();
  for (let i = 0; i < steps; i++) {
    store.startStep(run.id, "j", 1, i, Date.now());
    store.finishStep(run.id, "j", 1, i, "complete", 0, Date.now());
  }
  const storeRate = (2 * steps) / ((performance.now() - start) / 1000);
  store.close();

  const db = new Database(join(dir, "raw.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.exec("CREATE TABLE events (job_id INTEGER, attempt INTEGER, position INTEGER, state TEXT, exit_code INTEGER, at INTEGER)");
  const insert = db.prepare("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)");
  start = performance.now();
  for (let i = 0; i < steps; i++) {
    insert.run(1, 1, i, "active", null, Date.now());
    insert.run(1, 1, i, "complete", 0, Date.now());
  }
  const rawRate = (2 * steps) / ((performance.now() - start) / 1000);
  db.close();
  report({
    bench: "ci",
    metric: "store: step events written",
    value: storeRate,
    unit: "events/s",
    baseline: { name: "raw inserts", value: rawRate },
  });
}

export async function benchCi(daemon: TestDaemon, quick: boolean): Promise<void> {
  heading("ci: pipelines through a warm daemon");
  const dir = mkdtempSync(join(tmpdir(), "quire-bench-ci-"));
  const ci = await CiClient.connect({ home: daemon.home, autostart: false });
  try {
    await manySteps(ci, dir, 100);
    await firstByte(ci, dir, quick ? 20 : 100);
    storeWrites(dir, quick ? 2_000 : 20_000);
    note("steps run as `nice -n 10 bash -eo pipefail -c CMD` in a PTY; the baselines run the same command lines");
  } finally {
    ci.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
