// CI runs against the parts they are made of: a pipeline's steps through a warm daemon (a client's watch,
// and `quirectl run --wait` whole) and a chain of one-step jobs vs the same commands through
// quire/runtime, submission to first byte vs a bare spawn, the daemon's resident memory after many runs vs
// after the first, and the run store's step writes vs raw better-sqlite3 inserts of the same rows.
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
import { QUIRECTL } from "../test/helpers/daemon.js";
import { heading, note, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";
import { latency } from "./lib/stats.js";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3") as typeof BetterSqlite3;
const execFileAsync = promisify(execFile);

// The baselines run the bare command lines, so the bench's jobs run unsandboxed (`sandbox: false`); what
// the sandbox adds (bubblewrap, where there is one) has a row of its own.
const UNSANDBOXED = "    sandbox: false\n";

function pipelineText(steps: number, command: string, sandbox = false): string {
  const lines = Array.from({ length: steps }, () => `      - ${JSON.stringify(command)}\n`).join("");
  return `name: bench\njobs:\n  many:\n${sandbox ? "" : UNSANDBOXED}    steps:\n${lines}`;
}

/** A chain of `jobs` one-step jobs, each needing the one before. */
function chainText(jobs: number, command: string): string {
  const job = (i: number) =>
    `  j${i}:\n${i > 0 ? `    needs: [j${i - 1}]\n` : ""}${UNSANDBOXED}    steps:\n      - ${JSON.stringify(command)}\n`;
  return `name: chain\njobs:\n${Array.from({ length: jobs }, (_, i) => job(i)).join("")}`;
}

/** `steps` run() calls one after another in a fresh process, in ms (lib/run-loop.ts). */
async function runLoopMs(steps: number): Promise<number> {
  const { stdout } = await execFileAsync(process.execPath, [fileURLToPath(new URL("./lib/run-loop.js", import.meta.url)), String(steps)]);
  return Number(stdout.trim());
}

/** Submits `text` and waits for its end through the client, once untimed; returns the ms of a second run. */
async function timedRun(ci: CiClient, file: string, text: string): Promise<number> {
  writeFileSync(file, text);
  await ci.watch((await ci.submit(file, text)).id, () => {});
  const start = performance.now();
  const done = await ci.watch((await ci.submit(file, text)).id, () => {});
  const ms = performance.now() - start;
  if (done.state !== "complete") throw new Error(`bench pipeline ended ${done.state}: ${done.failureSummary}`);
  return ms;
}

/**
 * 100 trivial steps in one job, submitted and waited for (by a client, and by `quirectl run --wait` as a
 * whole process), and a chain of 100 one-step jobs, vs the same commands run one after another by run()
 * in a fresh process.
 */
async function manySteps(ci: CiClient, daemon: TestDaemon, dir: string, steps: number): Promise<void> {
  const file = join(dir, "many.yml");
  const daemonMs = await timedRun(ci, file, pipelineText(steps, "true"));
  const runtimeMs = await runLoopMs(steps);
  report({
    bench: "ci",
    metric: `${steps} trivial steps, one job`,
    value: daemonMs,
    unit: "ms",
    baseline: { name: "run() in a loop", value: runtimeMs },
  });
  const start = performance.now();
  await execFileAsync(process.execPath, [QUIRECTL, "--home", daemon.home, "run", file, "--wait"], {
    env: { ...process.env, QUIRE_NO_AUTOSTART: "1" },
  });
  report({
    bench: "ci",
    metric: `${steps} trivial steps, quirectl run --wait`,
    value: performance.now() - start,
    unit: "ms",
    baseline: { name: "run() in a loop", value: runtimeMs },
  });
  report({
    bench: "ci",
    metric: `${steps} trivial steps, sandboxed`,
    value: await timedRun(ci, join(dir, "sandboxed.yml"), pipelineText(steps, "true", true)),
    unit: "ms",
    baseline: { name: "the same unsandboxed", value: daemonMs },
  });
  const chainMs = await timedRun(ci, join(dir, "chain.yml"), chainText(steps, "true"));
  report({
    bench: "ci",
    metric: `chain of ${steps} one-step jobs`,
    value: chainMs,
    unit: "ms",
    baseline: { name: "run() in a loop", value: await runLoopMs(steps) },
  });
}

/** Resident memory of quired and its backends, in MiB, from /proc (Linux). */
async function daemonRssMiB(daemon: TestDaemon): Promise<number> {
  const pids = [daemon.process.pid!, ...(await daemon.backendPids())];
  let kib = 0;
  for (const pid of pids) kib += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  return kib / 1024;
}

/** quired's and its backends' resident memory after `runs` one-step runs vs after the first of them. */
async function residentAfterRuns(ci: CiClient, daemon: TestDaemon, dir: string, runs: number): Promise<void> {
  if (process.platform !== "linux") return note("resident memory: read from /proc, so Linux only");
  const file = join(dir, "memory.yml");
  const text = pipelineText(1, "echo x");
  writeFileSync(file, text);
  const once = async () => {
    const done = await ci.watch((await ci.submit(file, text)).id, () => {});
    if (done.state !== "complete") throw new Error(`bench pipeline ended ${done.state}: ${done.failureSummary}`);
  };
  await once();
  const first = await daemonRssMiB(daemon);
  for (let i = 1; i < runs; i++) await once();
  report({
    bench: "ci",
    metric: `RSS of quired + backends, ${runs} runs`,
    value: await daemonRssMiB(daemon),
    unit: "MiB",
    baseline: { name: "after the first run", value: first },
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
    await residentAfterRuns(ci, daemon, dir, quick ? 50 : 200);
    await manySteps(ci, daemon, dir, 100);
    await firstByte(ci, dir, quick ? 20 : 100);
    storeWrites(dir, quick ? 2_000 : 20_000);
    note(
      "steps run as `nice -n 10 bash -eo pipefail -c CMD` in a PTY, unsandboxed but for the sandboxed row; the baselines run the same command lines",
    );
  } finally {
    ci.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
