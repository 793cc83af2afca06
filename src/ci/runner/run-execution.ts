// One run, from its workspace to its end: jobs start when what they need is complete (within the
// shared slots), a failed job skips its dependents while independent jobs go on, failed jobs retry, and
// the first failure becomes the run's failure_kind and failure_summary. Steps start through the injected
// launcher and what they leave behind ends through the injected killer, so this is the scheduling alone.
import { join } from "node:path";
import type { Job, Pipeline, Step } from "../pipeline/model.js";
import { stepLogPath, type RunStore } from "../store/index.js";
import { JobStates, type JobEnd } from "./job-states.js";
import type { LeftoverKiller } from "./leftovers.js";
import { runEnd, type StepFailure } from "./run-end.js";
import type { Slots } from "./slots.js";
import type { RunEnvironment } from "./step-environment.js";
import type { LaunchedStep, StepLauncher } from "./step-launcher.js";
import { jobTimeoutOutcome, ownOutcome, passed } from "./step-outcome.js";

export interface RunExecutionOptions {
  store: RunStore;
  slots: Slots;
  runId: number;
  pipeline: Pipeline;
  /** Where steps run: the workspace's copy of the pipeline file's directory. */
  baseDir: string;
  /** Directory the store's relative log paths are under. */
  logDir: string;
  /** Each step's environment. */
  environment: RunEnvironment;
  /** Every secret value of the run, redacted from logs and the failure summary. */
  secrets: readonly string[];
  launcher: StepLauncher;
  /** Ends what a job's steps left running out of their terminals' reach, after each attempt and on stop. */
  leftovers: LeftoverKiller;
  /** Called after every store write that changes the run. */
  changed(): void;
  now(): number;
}

/** How one attempt of a job ended; a failed one says which step failed and how. */
type AttemptEnd = { end: "complete" } | { end: "stopped" } | { end: "failed"; failure: StepFailure };

/** A step this execution launched, and why the execution stopped it, if it did (the first reason wins). */
interface RunningStep {
  launched: LaunchedStep;
  stoppedFor?: "job-timeout" | "run";
}

export class RunExecution {
  readonly #options: RunExecutionOptions;
  readonly #running = new Set<RunningStep>();
  #stopped = false;
  #runStarted = false;
  #failure: StepFailure | undefined;

  constructor(options: RunExecutionOptions) {
    this.#options = options;
  }

  /**
   * Runs the pipeline to its end and records it. Resolves when nothing of it runs any more. The run stays
   * pending (queued) until its first job gets a slot.
   */
  async execute(): Promise<void> {
    const { store, runId } = this.#options;
    const jobs = new JobStates(this.#options.pipeline.jobs);
    const inFlight = new Map<string, Promise<void>>();
    while (!this.#stopped) {
      for (const job of jobs.skipBlocked()) {
        store.skipJob(runId, job.name, this.#options.now());
        this.#options.changed();
      }
      for (const job of jobs.startReady()) {
        inFlight.set(job.name, this.#runJob(job).then((end) => {
          jobs.end(job.name, end);
          inFlight.delete(job.name);
        }));
      }
      if (inFlight.size === 0) break;
      await Promise.race(inFlight.values());
    }
    await Promise.all(inFlight.values());
    if (this.#stopped) return;
    const end = await runEnd(this.#failure, this.#options.secrets);
    if (store.finishRun(runId, end, this.#options.now())) this.#options.changed();
  }

  /**
   * Ends every step's tree. The caller records why (cancelled, superseded, orphaned) before calling, so the
   * writes this run makes afterwards are late and move nothing.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all([...this.#running].map((step) => this.#stopStep(step, "run")));
    await this.#options.leftovers.endRun();
  }

  /** One job, from getting a slot to its end: its attempts, each retry recorded, until one completes or none is left. */
  async #runJob(job: Job): Promise<JobEnd> {
    const { store, runId } = this.#options;
    const release = await this.#options.slots.acquire();
    try {
      if (this.#stopped || !this.#started() || !store.startJob(runId, job.name, this.#options.now())) return "stopped";
      this.#options.changed();
      let attempt = 1;
      for (;;) {
        const result = await this.#runAttempt(job, attempt);
        if (result.end === "stopped" || this.#stopped) return "stopped";
        if (result.end === "complete") {
          store.finishJob(runId, job.name, "complete", 0, this.#options.now());
          this.#options.changed();
          return "complete";
        }
        if (attempt > job.retries) {
          this.#failure ??= result.failure;
          store.finishJob(runId, job.name, "failed", result.failure.outcome.exitCode || null, this.#options.now());
          this.#options.changed();
          return "failed";
        }
        const next = store.retryJob(runId, job.name, this.#options.now());
        if (next === undefined) return "stopped";
        attempt = next;
        this.#options.changed();
      }
    } finally {
      release();
    }
  }

  /** Moves the run from pending to active the first time one of its jobs starts; false if it has ended meanwhile. */
  #started(): boolean {
    if (this.#runStarted) return true;
    if (!this.#options.store.startRun(this.#options.runId, this.#options.now())) return false;
    this.#runStarted = true;
    this.#options.changed();
    return true;
  }

  /** The job's steps in order, within the job's time limit, until one fails. */
  async #runAttempt(job: Job, attempt: number): Promise<AttemptEnd> {
    const { store, runId } = this.#options;
    let current: RunningStep | undefined;
    let timedOut = false;
    const timer = job.timeoutMs === null ? undefined : setTimeout(() => {
      timedOut = true;
      if (current) void this.#stopStep(current, "job-timeout");
    }, job.timeoutMs);
    try {
      for (const [index, step] of job.steps.entries()) {
        if (this.#stopped) return { end: "stopped" };
        // The job's time ran out between steps: the rest do not start (ending the job skips them).
        if (timedOut) return { end: "failed", failure: { job: job.name, step: step.name, outcome: jobTimeoutOutcome() } };
        if (!store.startStep(runId, job.name, attempt, index, this.#options.now())) return { end: "stopped" };
        this.#options.changed();
        current = this.#launch(job, step, attempt, index);
        const exit = await current.launched.result;
        this.#running.delete(current);
        const { stoppedFor } = current;
        current = undefined;
        if (stoppedFor === "run") return { end: "stopped" };
        const outcome = stoppedFor === "job-timeout" ? jobTimeoutOutcome(exit) : ownOutcome(exit);
        const ok = passed(outcome);
        // A step that failed for another reason than its exit code (a timeout, its log) keeps no exit code of 0.
        const exitCode = !ok && outcome.exitCode === 0 ? null : outcome.exitCode;
        store.finishStep(runId, job.name, attempt, index, ok ? "complete" : "failed", exitCode, this.#options.now());
        this.#options.changed();
        // The steps after a failed one stay pending; ending the job (or retrying it) marks them skipped.
        if (!ok) return { end: "failed", failure: { job: job.name, step: step.name, outcome } };
      }
      return { end: "complete" };
    } finally {
      clearTimeout(timer);
      // What the attempt's steps started and left behind out of their terminal's reach ends with it.
      await this.#options.leftovers.endJob(job.name);
    }
  }

  #launch(job: Job, step: Step, attempt: number, index: number): RunningStep {
    const { baseDir, logDir, runId } = this.#options;
    const launched = this.#options.launcher.launch({
      script: step.run,
      cwd: join(baseDir, step.workingDirectory ?? job.workingDirectory ?? "."),
      env: this.#options.environment.forStep(job, step),
      timeoutMs: step.timeoutMs,
      logFile: join(logDir, stepLogPath(runId, job.name, attempt, index)),
      secrets: this.#options.secrets,
    });
    const running: RunningStep = { launched };
    this.#running.add(running);
    return running;
  }

  #stopStep(step: RunningStep, why: "job-timeout" | "run"): Promise<void> {
    step.stoppedFor ??= why;
    return step.launched.stop();
  }
}
