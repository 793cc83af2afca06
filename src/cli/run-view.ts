// How a run looks to a person: a live tree of jobs and steps redrawn in place while it runs (log-update
// does the cursor work), plain lines of changes when stdout is not a terminal, and a report at the end
// that puts failures first.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { createLogUpdate } from "log-update";
import type { CiJob, CiRun, CiStep } from "../gen/quire/v1/ci.js";
import { renderTail } from "../ci/output/screen.js";
import { currentSteps } from "./run-json.js";
import { println } from "./output.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const MARK: Record<string, string> = { complete: "✓", failed: "✗", cancelled: "⊘", skipped: "-", pending: "·", superseded: "⊘" };
/** Lines of each failed step's output shown in the report. */
const REPORT_TAIL_LINES = 8;

export interface RunView {
  update(run: CiRun): void;
  /** Stops redrawing and leaves the last frame on screen. */
  done(): void;
}

export function liveView(stream: NodeJS.WriteStream = process.stdout): RunView {
  const draw = createLogUpdate(stream, { showCursor: false });
  let run: CiRun | undefined;
  let tick = 0;
  const render = () => run && draw(frame(run, SPINNER[tick++ % SPINNER.length]!, Date.now()));
  const timer = setInterval(render, 100);
  return {
    update(next) {
      run = next;
      render();
    },
    done() {
      clearInterval(timer);
      render();
      draw.done();
    },
  };
}

/** One line per change of a job's or step's state, for logs and pipes; the run's own line comes last. */
export function lineView(): RunView {
  const seen = new Map<string, string>();
  const note = (key: string, state: string, text: string) => {
    if (seen.get(key) === state) return;
    seen.set(key, state);
    println(`${new Date().toISOString().slice(11, 19)} ${text}`);
  };
  return {
    update(run) {
      for (const job of run.jobs) {
        if (job.state === "pending") continue;
        const attempt = job.attempt > 1 ? ` (attempt ${job.attempt})` : "";
        note(`job:${job.name}`, `${job.attempt}:${job.state}`, `${job.name} ${job.state}${attempt}${ended(job)}`);
        for (const step of currentSteps(job)) {
          if (step.state === "pending") continue;
          note(`step:${job.name}:${step.attempt}:${step.name}`, step.state, `${job.name} / ${step.name} ${step.state}${exitText(step)}${ended(step)}`);
        }
      }
      note("run", run.state, `run ${run.id} ${run.state}`);
    },
    done() {},
  };
}

/** The duration of something that has finished, or nothing. */
function ended(item: CiJob | CiStep): string {
  return item.finishedUnixMs ? duration(item.startedUnixMs, item.finishedUnixMs) : "";
}

function frame(run: CiRun, spin: string, now: number): string {
  const lines = [`run ${run.id}  ${run.pipeline}  ${where(run)}  ${run.state}${duration(run.startedUnixMs || run.createdUnixMs, run.finishedUnixMs, now)}`];
  for (const job of run.jobs) {
    const waiting = job.state === "pending" && job.needs.length ? `  waiting for ${job.needs.join(", ")}` : "";
    const attempt = job.attempt > 1 ? `  attempt ${job.attempt}` : "";
    lines.push(`  ${mark(job.state, spin)} ${job.name}${duration(job.startedUnixMs, job.finishedUnixMs, now)}${attempt}${waiting}`);
    if (job.state === "pending" || job.state === "skipped") continue;
    for (const step of currentSteps(job)) {
      lines.push(`      ${mark(step.state, spin)} ${step.name}${exitText(step)}${duration(step.startedUnixMs, step.finishedUnixMs, now)}`);
    }
  }
  return lines.join("\n");
}

/** The end of a run for a person: what failed (with its last output and how to see all of it), then the rest. */
export async function printReport(run: CiRun): Promise<void> {
  println();
  const verdict = run.state === "failed" ? `failed (${run.failureKind})` : run.state === "superseded" ? `superseded by run ${run.supersededBy}` : run.state;
  println(`run ${run.id} ${verdict}${duration(run.startedUnixMs || run.createdUnixMs, run.finishedUnixMs)}`);
  const failed = run.jobs.flatMap((job) => currentSteps(job).filter((s) => s.state === "failed").map((step) => ({ job, step })));
  for (const { job, step } of failed) {
    println();
    println(`✗ ${job.name} / ${step.name}${exitText(step)}`);
    for (const line of await lastLines(step)) println(`    ${line}`);
    println(`    full log: quirectl logs ${run.id} --job ${job.name} --step ${quoteArg(step.name)}`);
  }
  if (failed.length === 0 && run.failureSummary) {
    println();
    for (const line of run.failureSummary.split("\n")) println(`    ${line}`);
  }
  const others = run.jobs.filter((job) => job.state !== "failed");
  if (others.length) {
    println();
    for (const job of others) println(`${MARK[job.state] ?? "?"} ${job.name} ${job.state}${duration(job.startedUnixMs, job.finishedUnixMs)}`);
  }
  for (const a of run.annotations) println(`note${a.job ? ` (${a.job}${a.step ? ` / ${a.step}` : ""})` : ""}: ${a.text}`);
}

async function lastLines(step: CiStep): Promise<string[]> {
  if (!step.log) return [];
  try {
    const size = statSync(step.log).size;
    const length = Math.min(size, 64 * 1024);
    const buffer = Buffer.alloc(length);
    const fd = openSync(step.log, "r");
    try {
      readSync(fd, buffer, 0, length, size - length);
    } finally {
      closeSync(fd);
    }
    return (await renderTail(buffer)).slice(-REPORT_TAIL_LINES);
  } catch {
    return [];
  }
}

function mark(state: string, spin: string): string {
  return state === "active" ? spin : (MARK[state] ?? "?");
}

function where(run: CiRun): string {
  const commit = run.commit ? `@${run.commit.slice(0, 8)}` : "";
  return `${run.ref || run.repo}${commit}${run.dirty ? " (with uncommitted changes)" : ""}`;
}

function exitText(step: CiStep | CiJob): string {
  return step.hasExitCode && step.exitCode !== 0 ? ` exited ${step.exitCode}` : "";
}

function duration(start: bigint, end: bigint, now = Date.now()): string {
  if (!start) return "";
  const ms = (end ? Number(end) : now) - Number(start);
  return `  ${ms < 10_000 ? (ms / 1000).toFixed(1) : Math.round(ms / 1000)}s`;
}

function quoteArg(text: string): string {
  return /^[A-Za-z0-9_./:-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
