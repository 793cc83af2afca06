// Where each job of one execution stands, keyed by job name: what the scheduler decides from. A job
// waits until every job it needs has complete (or was cached: given the result of an earlier complete
// job); it is skipped once one of them can no longer complete.
import type { Job } from "../pipeline/model.js";

/**
 * How a job the execution ran ended; "cached": it was given an earlier complete job's result instead of
 * running; "stopped": the run was stopped (cancel, supersede, shutdown) first.
 */
export type JobEnd = "complete" | "cached" | "failed" | "stopped";

export type JobState = "waiting" | "running" | "skipped" | JobEnd;

/** The states of a need that let its dependents start. */
const SATISFIED: ReadonlySet<JobState> = new Set(["complete", "cached"]);
/** The states of a need that mean its dependents will never start. */
const BLOCKING: ReadonlySet<JobState> = new Set(["failed", "skipped", "stopped"]);

export class JobStates {
  #jobs: readonly Job[];
  readonly #states: Map<string, JobState>;

  /**
   * Without `decide`, a job waits for its needs to complete and is skipped once one cannot. With it (a
   * workflow's jobs, whose `if` may run them after a failure), a job waits until its needs have ended
   * and `decide` says whether it runs.
   */
  readonly #decide: ((job: Job) => boolean) | undefined;

  constructor(jobs: readonly Job[], decide?: (job: Job) => boolean) {
    this.#jobs = jobs;
    this.#decide = decide;
    this.#states = new Map(jobs.map((job) => [job.name, "waiting"]));
  }

  get(name: string): JobState | undefined {
    return this.#states.get(name);
  }

  /**
   * Marks skipped, and returns in the order they were found, the waiting jobs a need of which failed or
   * was skipped or stopped: also those behind a job skipped in the same call, wherever the file lists them.
   */
  skipBlocked(): Job[] {
    const skipped: Job[] = [];
    for (let found = true; found; ) {
      found = false;
      for (const job of this.#waiting()) {
        if (!job.skipReason && !this.#blocked(job)) continue;
        this.#states.set(job.name, "skipped");
        skipped.push(job);
        found = true;
      }
    }
    return skipped;
  }

  /** Marks running, and returns in file order, the waiting jobs whose needs have all complete. */
  startReady(): Job[] {
    const decide = this.#decide;
    const ready: Job[] = [];
    for (const job of this.#waiting()) {
      const needsMet = decide ? this.#needsEnded(job) && decide(job) : job.needs.every((need) => SATISFIED.has(this.#states.get(need)!));
      if (!needsMet || this.#atMaxParallel(job)) continue;
      this.#states.set(job.name, "running");
      ready.push(job);
    }
    return ready;
  }

  /** Marks skipped, and returns, the waiting legs of `group` (a failed leg's fail-fast). */
  skipWaitingLegs(group: string): Job[] {
    const legs = this.#waiting().filter((job) => job.group === group);
    for (const job of legs) this.#states.set(job.name, "skipped");
    return legs;
  }

  /**
   * Job `name`, running, has been replaced (a workflow job resolved once ready: its matrix's legs): `jobs`
   * is the whole list now, the new jobs waiting, the others as they were.
   */
  replace(name: string, jobs: readonly Job[]): void {
    this.#states.delete(name);
    for (const job of jobs) if (!this.#states.has(job.name)) this.#states.set(job.name, "waiting");
    this.#jobs = jobs;
  }

  /** Records how a running job ended. */
  end(name: string, end: JobEnd): void {
    this.#states.set(name, end);
  }

  /** A matrix leg waits while `max-parallel` legs of its job run. */
  #atMaxParallel(job: Job): boolean {
    const max = job.strategy?.maxParallel;
    if (!max) return false;
    return this.#jobs.filter((other) => other.group === job.group && this.#states.get(other.name) === "running").length >= max;
  }

  #blocked(job: Job): boolean {
    if (this.#decide) return this.#needsEnded(job) && !this.#decide(job);
    return job.needs.some((need) => BLOCKING.has(this.#states.get(need)!));
  }

  #needsEnded(job: Job): boolean {
    return job.needs.every((need) => !["waiting", "running"].includes(this.#states.get(need)!));
  }

  #waiting(): Job[] {
    return this.#jobs.filter((job) => this.#states.get(job.name) === "waiting");
  }
}
