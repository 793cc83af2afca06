// One run, from its workspace to its end: jobs start when what they need is complete (within the
// shared slots), a failed job skips its dependents while independent jobs go on, failed jobs retry, and
// the first failure becomes the run's failure_kind and failure_summary.
import { join } from "node:path";
import type { Job, Pipeline } from "../pipeline/model.js";
import { renderTail } from "../output/screen.js";
import { failureSummary } from "../output/summary.js";
import { redactString } from "../output/redact.js";
import { stepLogPath, type RunStore } from "../store/index.js";
import { endLeftovers, JOB_KEY_ENV } from "./leftovers.js";
import type { Slots } from "./slots.js";
import { StepProcess, type StepOutcome } from "./step-process.js";

export interface RunContext {
  store: RunStore;
  slots: Slots;
  runId: number;
  pipeline: Pipeline;
  /** Where steps run: the workspace's copy of the pipeline file's directory. */
  baseDir: string;
  /** Directory the store's relative log paths are under. */
  logDir: string;
  /** The environment every step starts from (daemon, run id and token, PATH with quirectl). */
  baseEnv: Record<string, string>;
  /** Secret values by name, for the jobs that list them. */
  secrets: ReadonlyMap<string, string>;
  niceness: number;
  killGraceMs: number;
  /** QUIRE_CI_JOB_KEY for a job's steps, and the prefix all of this run's keys share. */
  jobKey(job: string): string;
  runKey: string;
  /** Called after every store write that changes the run. */
  changed(): void;
  now(): number;
}

interface Failure {
  job: string;
  step: string;
  outcome: StepOutcome;
}

type JobEnd = "complete" | "failed" | "stopped";

export class RunExecution {
  readonly #ctx: RunContext;
  readonly #running = new Set<StepProcess>();
  #stopped = false;
  #runStarted = false;
  #failure: Failure | undefined;
  readonly #allSecrets: string[];

  constructor(ctx: RunContext) {
    this.#ctx = ctx;
    this.#allSecrets = [...ctx.secrets.values()];
  }

  /**
   * Runs the pipeline to its end and records it. Resolves when nothing of it runs any more. The run stays
   * pending (queued) until its first job gets a slot.
   */
  async execute(): Promise<void> {
    const { store, runId } = this.#ctx;
    const states = new Map<string, JobEnd | "skipped" | "waiting" | "running">(this.#ctx.pipeline.jobs.map((j) => [j.name, "waiting"]));
    const inFlight = new Map<string, Promise<void>>();
    for (;;) {
      if (this.#stopped) break;
      for (const job of this.#ctx.pipeline.jobs) {
        if (states.get(job.name) !== "waiting") continue;
        const needs = job.needs.map((n) => states.get(n));
        if (needs.some((s) => s === "failed" || s === "skipped" || s === "stopped")) {
          states.set(job.name, "skipped");
          store.skipJob(runId, job.name, this.#ctx.now());
          this.#ctx.changed();
        } else if (needs.every((s) => s === "complete")) {
          states.set(job.name, "running");
          inFlight.set(job.name, this.#runJob(job).then((end) => {
            states.set(job.name, end);
            inFlight.delete(job.name);
          }));
        }
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight.values());
    }
    await Promise.all(inFlight.values());
    if (this.#stopped) return;
    const end = await this.#runEnd();
    if (store.finishRun(runId, end, this.#ctx.now())) this.#ctx.changed();
  }

  /**
   * Ends every step's tree. The caller records why (cancelled, superseded, orphaned) before calling, so the
   * writes this run makes afterwards are late and move nothing.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#running].map((step) => step.stop("stop")));
    await endLeftovers(this.#ctx.runKey, this.#ctx.killGraceMs);
  }

  async #runJob(job: Job): Promise<JobEnd> {
    const { store, runId } = this.#ctx;
    const release = await this.#ctx.slots.acquire();
    try {
      if (this.#stopped || !this.#started() || !store.startJob(runId, job.name, this.#ctx.now())) return "stopped";
      this.#ctx.changed();
      let attempt = 1;
      for (;;) {
        const result = await this.#runAttempt(job, attempt);
        if (result.end === "stopped" || this.#stopped) return "stopped";
        if (result.end === "complete") {
          store.finishJob(runId, job.name, "complete", 0, this.#ctx.now());
          this.#ctx.changed();
          return "complete";
        }
        if (attempt > job.retries) {
          this.#failure ??= result.failure;
          store.finishJob(runId, job.name, "failed", result.failure!.outcome.exitCode || null, this.#ctx.now());
          this.#ctx.changed();
          return "failed";
        }
        const next = store.retryJob(runId, job.name, this.#ctx.now());
        if (next === undefined) return "stopped";
        attempt = next;
        this.#ctx.changed();
      }
    } finally {
      release();
    }
  }

  /** Moves the run from pending to active the first time one of its jobs starts; false if it has ended meanwhile. */
  #started(): boolean {
    if (this.#runStarted) return true;
    if (!this.#ctx.store.startRun(this.#ctx.runId, this.#ctx.now())) return false;
    this.#runStarted = true;
    this.#ctx.changed();
    return true;
  }

  async #runAttempt(job: Job, attempt: number): Promise<{ end: JobEnd; failure?: Failure }> {
    const { store, runId } = this.#ctx;
    let jobTimer: NodeJS.Timeout | undefined;
    let current: StepProcess | undefined;
    let jobTimedOut = false;
    if (job.timeoutMs !== null) {
      jobTimer = setTimeout(() => {
        jobTimedOut = true;
        void current?.stop("job");
      }, job.timeoutMs);
    }
    try {
      for (const [index, step] of job.steps.entries()) {
        if (this.#stopped) return { end: "stopped" };
        // The job's time ran out between steps: the rest do not start (ending the job skips them).
        if (jobTimedOut) {
          const outcome: StepOutcome = { exitCode: null, signal: null, timedOut: "job", stopped: false, tail: Buffer.alloc(0), startError: null, internalError: null };
          return { end: "failed", failure: { job: job.name, step: step.name, outcome } };
        }
        if (!store.startStep(runId, job.name, attempt, index, this.#ctx.now())) return { end: "stopped" };
        this.#ctx.changed();
        const process = StepProcess.start({
          script: step.run,
          cwd: join(this.#ctx.baseDir, step.workingDirectory ?? job.workingDirectory ?? "."),
          env: {
            ...this.#ctx.baseEnv,
            ...this.#ctx.pipeline.env,
            ...job.env,
            ...step.env,
            ...this.#jobSecrets(job),
            QUIRE_JOB: job.name,
            QUIRE_STEP: step.name,
            [JOB_KEY_ENV]: this.#ctx.jobKey(job.name),
          },
          timeoutMs: step.timeoutMs,
          logFile: join(this.#ctx.logDir, stepLogPath(runId, job.name, attempt, index)),
          secrets: this.#allSecrets,
          niceness: this.#ctx.niceness,
          killGraceMs: this.#ctx.killGraceMs,
        });
        current = process;
        this.#running.add(process);
        // A job timeout that fired while this step was starting still ends it.
        if (jobTimedOut) void process.stop("job");
        const outcome = await process.result;
        this.#running.delete(process);
        current = undefined;
        if (outcome.stopped) return { end: "stopped" };
        const ok = outcome.exitCode === 0 && outcome.timedOut === false && outcome.internalError === null;
        // A step that failed for another reason than its exit code (a timeout, its log) keeps no exit code of 0.
        const exitCode = !ok && outcome.exitCode === 0 ? null : outcome.exitCode;
        store.finishStep(runId, job.name, attempt, index, ok ? "complete" : "failed", exitCode, this.#ctx.now());
        this.#ctx.changed();
        // The steps after a failed one stay pending; ending the job (or retrying it) marks them skipped.
        if (!ok) {
          return { end: "failed", failure: { job: job.name, step: step.name, outcome } };
        }
      }
      return { end: "complete" };
    } finally {
      clearTimeout(jobTimer);
      // What the attempt's steps started and left behind out of their terminal's reach ends with it.
      await endLeftovers(this.#ctx.jobKey(job.name), this.#ctx.killGraceMs);
    }
  }

  #jobSecrets(job: Job): Record<string, string> {
    return Object.fromEntries(job.secrets.map((name) => [name, this.#ctx.secrets.get(name) ?? ""]));
  }

  async #runEnd() {
    const failure = this.#failure;
    if (!failure) return { state: "complete" as const };
    const { outcome } = failure;
    const why = outcome.internalError ?? outcome.startError;
    const lines = why ? [why] : await renderTail(outcome.tail);
    const summary = failureSummary({
      job: failure.job,
      step: failure.step,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      timedOut: outcome.timedOut !== false,
      tail: lines.map((line) => redactString(line, this.#allSecrets)),
    });
    const kind = outcome.internalError ? "internal" : outcome.timedOut ? "timeout" : "pipeline-failure";
    return { state: "failed" as const, kind: kind as "internal" | "timeout" | "pipeline-failure", summary };
  }
}
