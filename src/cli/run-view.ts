// How a run looks to a person: a live tree of jobs and steps redrawn in place while it runs (the frame is
// drawn here, live-view.ts puts it on the terminal; run-lines.ts has the plain lines for when stdout is not
// a terminal), and a report at the end that puts failures first.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import type { CiJob, CiRun, CiStep } from "../gen/quire/v1/ci.js";
import { foldGroupLines } from "../ci/output/workflow-commands.js";
import { summaryEnding } from "../ci/output/summary.js";
import { currentSteps } from "./run-json.js";
import { println, shellWord, visible } from "./output.js";

const MARK: Record<string, string> = {
  complete: "✓",
  cached: "✓",
  failed: "✗",
  cancelled: "⊘",
  skipped: "-",
  pending: "·",
  superseded: "⊘",
};
/** Lines of a failed step's log shown in the report when the failure summary is about another step. */
const REPORT_TAIL_LINES = 8;

export interface RunView {
  update(run: CiRun): void;
  /** Stops showing the run (a live view leaves its last frame on screen); updates after it are ignored. */
  done(): void;
}

/** Where a cached job's result comes from (` from run 7`), or nothing. */
export function cachedText(job: CiJob): string {
  return job.cachedFrom ? ` from run ${job.cachedFrom}` : "";
}

/** The duration of something that has finished, or nothing. */
export function ended(item: CiJob | CiStep): string {
  return item.finishedUnixMs ? duration(item.startedUnixMs, item.finishedUnixMs) : "";
}

export interface FrameSize {
  /** The terminal's height; undefined: not known, so nothing is left out. */
  rows?: number;
  /** The terminal's width; undefined: lines are not cut. */
  columns?: number;
}

/**
 * The live view of `run`, at most `rows - 1` lines (the cursor waits on the last row) of at most
 * `columns - 1` characters (a wrapped line would take two rows). When everything does not fit: the header
 * and every active job with its steps always; failed jobs while there is room; the other jobs as one
 * line of counts (`✓ 40 complete, · 200 pending`). When the active jobs' steps alone do not fit, they
 * are shortened (counts of finished and pending steps), then only the running ones are shown.
 * `lastLine` gives a running step's last line of output, shown after it (made visible, and cut with the line).
 */
export function frame(
  run: CiRun,
  spin: string,
  now: number,
  size: FrameSize = {},
  lastLine?: (job: CiJob, step: CiStep) => string | undefined,
): string {
  const header = `run ${run.id}  ${visible(run.pipeline)}  ${where(run)}  ${run.state}${duration(run.startedUnixMs || run.createdUnixMs, run.finishedUnixMs, now)}`;
  const jobLine = (job: CiJob) => {
    const waiting = job.state === "pending" && job.needs.length ? `  waiting for ${job.needs.map(visible).join(", ")}` : "";
    const attempt = attemptOf(job);
    const cached = job.state === "cached" ? `  cached${cachedText(job)}` : "";
    return `  ${mark(job.state, spin)} ${visible(job.name)}${duration(job.startedUnixMs, job.finishedUnixMs, now)}${attempt ? `  ${attempt}` : ""}${cached}${waiting}`;
  };
  const stepLine = (job: CiJob, step: CiStep) => {
    const output = step.state === "active" ? lastLine?.(job, step) : undefined;
    return `      ${mark(step.state, spin)} ${visible(step.name)}${exitText(step)}${duration(step.startedUnixMs, step.finishedUnixMs, now)}${output ? `  › ${visible(output)}` : ""}`;
  };
  // A cached job ran no step: its steps are the proving run's.
  const stepLines = (job: CiJob) =>
    job.state === "pending" || job.state === "skipped" || job.state === "cached"
      ? []
      : currentSteps(job).map((step) => stepLine(job, step));
  const fit = (lines: string[]) => cut(lines, size.columns).join("\n");

  const full = [header, ...run.jobs.flatMap((job) => [jobLine(job), ...stepLines(job)])];
  const room = size.rows === undefined ? Infinity : Math.max(1, size.rows - 1);
  if (full.length <= room) return fit(full);

  // Each active job's steps in full, else in short, else only those running, else none: the first
  // that leaves room for a line of counts.
  const active = run.jobs.filter((job) => job.state === "active");
  const levels = [
    stepLines,
    (job: CiJob) => collapsedSteps(job, (step) => stepLine(job, step)),
    (job: CiJob) =>
      currentSteps(job)
        .filter((s) => s.state === "active")
        .map((step) => stepLine(job, step)),
    () => [],
  ];
  let blocks = new Map<CiJob, string[]>();
  for (const steps of levels) {
    blocks = new Map(active.map((job) => [job, [jobLine(job), ...steps(job)]]));
    if (linesIn(blocks) + 2 <= room) break;
  }
  // Failed jobs are worth a line each while there is room; the rest are counted.
  let spare = room - linesIn(blocks) - 2;
  for (const job of run.jobs) {
    if (spare <= 0) break;
    if (job.state !== "failed") continue;
    blocks.set(job, [jobLine(job)]);
    spare--;
  }
  const counts = new Map<string, number>();
  for (const job of run.jobs) if (!blocks.has(job)) counts.set(job.state, (counts.get(job.state) ?? 0) + 1);
  const tail =
    counts.size === 0
      ? []
      : [
          `  ${COUNT_ORDER.filter((state) => counts.has(state))
            .map((state) => `${MARK[state] ?? "?"} ${counts.get(state)} ${state}`)
            .join(", ")}`,
        ];
  const body = run.jobs.flatMap((job) => blocks.get(job) ?? []);
  // Still too tall (more active jobs than rows): the top of them, and how many lines are left out.
  const bodyRoom = room - 1 - tail.length;
  if (body.length > bodyRoom)
    body.splice(Math.max(0, bodyRoom - 1), body.length, `  … ${body.length - Math.max(0, bodyRoom - 1)} more lines`);
  return fit([header, ...body, ...tail].slice(0, room));
}

function linesIn(blocks: Map<CiJob, string[]>): number {
  let n = 0;
  for (const lines of blocks.values()) n += lines.length;
  return n;
}

const COUNT_ORDER = ["complete", "cached", "failed", "cancelled", "superseded", "skipped", "pending"];

/** An active job's steps in short: the active and failed ones, with counts of the others. */
function collapsedSteps(job: CiJob, stepLine: (step: CiStep) => string): string[] {
  const steps = currentSteps(job);
  const done = steps.filter((s) => s.state === "complete").length;
  const pending = steps.filter((s) => s.state === "pending").length;
  const lines: string[] = [];
  if (done) lines.push(`      ${MARK.complete} ${done} steps complete`);
  for (const step of steps) if (step.state !== "complete" && step.state !== "pending") lines.push(stepLine(step));
  if (pending) lines.push(`      ${MARK.pending} ${pending} steps pending`);
  return lines;
}

/** Lines cut to `columns - 1` characters (code points) with an ellipsis, so that none wraps. */
function cut(lines: string[], columns: number | undefined): string[] {
  if (columns === undefined || columns < 2) return lines;
  const width = columns - 1;
  return lines.map((line) => {
    const chars = Array.from(line);
    return chars.length <= width ? line : chars.slice(0, width - 1).join("") + "…";
  });
}

/** The end of a run for a person: what failed (with its last output and how to see all of it), then the rest. */
export async function printReport(run: CiRun): Promise<void> {
  println();
  const verdict =
    run.state === "failed"
      ? `failed (${run.failureKind})`
      : run.state === "superseded"
        ? `superseded by run ${run.supersededBy}`
        : run.state;
  println(`run ${run.id} ${verdict}${duration(run.startedUnixMs || run.createdUnixMs, run.finishedUnixMs)}`);
  const failed = run.jobs.flatMap((job) =>
    currentSteps(job)
      .filter((s) => s.state === "failed")
      .map((step) => ({ job, step })),
  );
  for (const { job, step } of failed) {
    println();
    const timeout = timeoutText(run, job, step);
    println(`✗ ${visible(job.name)} / ${visible(step.name)}${timeout ? ` ${visible(timeout)}` : exitText(step)}${attemptNote(job)}`);
    // The run's summary, when it is about this step, keeps what the failure said (a test's name, the failing
    // line, the values; or quire's own reason, a full disk) where the log's last lines may be a stack trace.
    for (const line of summaryLines(run, job, step) ?? (await lastLines(step))) println(`    ${visible(line)}`);
    // Control characters written as $'\x1b', so the hint can be pasted and cannot drive the terminal.
    println(`    full log: quirectl logs ${run.id} --job ${shellWord(job.name)} --step ${shellWord(step.name)}`);
  }
  if (failed.length === 0 && run.failureSummary) {
    println();
    for (const line of run.failureSummary.split("\n")) println(`    ${visible(line)}`);
  }
  const others = run.jobs.filter((job) => job.state !== "failed");
  if (others.length) {
    println();
    for (const job of others)
      println(
        `${MARK[job.state] ?? "?"} ${visible(job.name)} ${job.state}${cachedText(job)}${attemptNote(job)}${duration(job.startedUnixMs, job.finishedUnixMs)}`,
      );
  }
  for (const a of run.annotations) println(annotationLine(a));
}

/** "timed out after 5m": when `step` is the one whose timeout failed the run, as the run's summary says. */
export function timeoutText(run: CiRun, job: CiJob, step: CiStep): string | undefined {
  if (run.failureKind !== "timeout") return undefined;
  const ending = summaryEnding(run.failureSummary, job.name, step.name);
  return ending?.startsWith("timed out") ? ending : undefined;
}

/** The lines of the run's failure summary after its header, when the summary is about `step` of `job`. */
function summaryLines(run: CiRun, job: CiJob, step: CiStep): string[] | undefined {
  if (summaryEnding(run.failureSummary, job.name, step.name) === undefined) return undefined;
  const lines = foldGroupLines(
    run.failureSummary
      .split("\n")
      .slice(1)
      .filter((line) => line.trim() !== ""),
  );
  return lines.length ? lines : undefined;
}

/** The last lines of a step's log as a terminal shows them, for a failed step the summary is not about. */
async function lastLines(step: CiStep): Promise<string[]> {
  if (!step.log) return [];
  // The terminal emulator is loaded for a failed step's tail only, not by every report.
  const { renderTail } = await import("../ci/output/screen.js");
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
    return foldGroupLines(await renderTail(buffer)).slice(-REPORT_TAIL_LINES);
  } catch {
    return [];
  }
}

/** An annotation as a person reads it; its text comes from a step, so it is made visible too. */
export function annotationLine(a: { text: string; job: string; step: string }): string {
  return `note${a.job ? ` (${visible(a.job)}${a.step ? ` / ${visible(a.step)}` : ""})` : ""}: ${visible(a.text)}`;
}

function mark(state: string, spin: string): string {
  return state === "active" ? spin : (MARK[state] ?? "?");
}

function where(run: CiRun): string {
  const commit = run.commit ? `@${run.commit.slice(0, 8)}` : "";
  return `${visible(run.ref || run.repo)}${commit}${run.dirty ? " (with uncommitted changes)" : ""}`;
}

export function exitText(step: CiStep | CiJob): string {
  return step.hasExitCode && step.exitCode !== 0 ? ` exited ${step.exitCode}` : "";
}

/** `attempt 2 of 3` for a job that has been retried, else undefined (`attempt 2` from a daemon that does not say how many it may have). */
export function attemptOf(job: CiJob): string | undefined {
  if (job.attempt <= 1) return undefined;
  return `attempt ${job.attempt}${job.maxAttempts ? ` of ${job.maxAttempts}` : ""}`;
}

/** ` (attempt 2 of 3)`, or nothing for a job that ran once. */
export function attemptNote(job: CiJob): string {
  const attempt = attemptOf(job);
  return attempt ? ` (${attempt})` : "";
}

function duration(start: bigint, end: bigint, now = Date.now()): string {
  if (!start) return "";
  const ms = (end ? Number(end) : now) - Number(start);
  return `  ${ms < 10_000 ? (ms / 1000).toFixed(1) : Math.round(ms / 1000)}s`;
}
