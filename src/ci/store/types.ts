import type { Pipeline } from "../pipeline/model.js";

// The store's public vocabulary. Times are integers, ms since the epoch (UTC); absent values are null.

export type RunState = "pending" | "active" | "complete" | "failed" | "cancelled" | "superseded";
export type StepState = "pending" | "active" | "complete" | "failed" | "cancelled" | "skipped";
/** `cached`: the job did not run; it was given the result of a complete job of the same inputs (`cachedFrom` names its run). */
export type JobState = StepState | "cached";
export type FailureKind = "pipeline-failure" | "timeout" | "orphaned" | "internal";

/** How finishJob/finishStep end a job or step ("skipped" is skipJob's, and what ending a run or job does to pending ones). */
export type EndState = "complete" | "failed" | "cancelled";

export type RunEnd = { state: "complete" } | { state: "cancelled" } | { state: "failed"; kind: FailureKind; summary: string };

export interface NewRun {
  repo: string;
  ref: string;
  pipeline: Pipeline;
  commit: string | null; // null: not a git repository, or one with no commits
  tree: string | null;
  dirty: boolean;
  /** Where steps run, relative to the run's workspace: the directory holding the pipeline file ("." at the root). */
  workspace: string;
  /** The client's name for this submission (1 to 128 characters): one run per key, ever. */
  idempotencyKey?: string;
  /** What asked for the run (TRIGGER_NAME in rules.ts); default `manual`, by hand. */
  trigger?: string;
  /** Tell its end with a desktop notification (nobody waits on it); default false. */
  notify?: boolean;
  /** Run every job, even one whose result a complete job of the same inputs has given (`quirectl run --no-cache`). */
  noCache?: boolean;
  /** What the run works on, as the workspace layer describes it (JSON-serialisable), for a rerun; none for a plain directory. */
  snapshot?: unknown;
  /** The run whose tree this one runs again (quirectl rerun). */
  rerunOf?: number | null;
  /**
   * A workflow's `concurrency`, given the new run's id (its group may use `github.run_id`): the group, and
   * whether a new run cancels the one in progress. null, or none: quire's own supersede.
   */
  concurrency?: (runId: number) => { group: string; cancelInProgress: boolean } | null;
}

/**
 * A job's result found on the remote job cache, recorded as a finished run of its own (triggered by
 * REMOTE_RESULT_TRIGGER) so that the job given it can name it (`cached_from`), and its steps' logs, the
 * uploading machine's, are that run's.
 */
export interface RemoteResultRun {
  repo: string;
  ref: string;
  /** The citing run's pipeline with only this job. */
  pipeline: Pipeline;
  /** The citing run's directory where steps start. */
  workspace: string;
  job: string;
  inputs: string;
  /** When the job ran on the machine that uploaded it (ms since the epoch). */
  startedAt: number;
  finishedAt: number;
  steps: {
    name: string;
    command: string;
    /** `failed`: a workflow step with continue-on-error. */
    state: "complete" | "skipped" | "failed";
    exitCode: number | null;
    startedAt: number | null;
    finishedAt: number;
  }[];
}

/** What createRun did: `run` is the run recorded now or, for an idempotency key seen before, the one recorded then. */
export interface CreatedRun {
  run: RunRecord;
  /** The live runs the new run superseded: of the same (repo, ref, pipeline), or those its concurrency group's rules end. */
  superseded: number[];
  /** The new run waits for its concurrency group's run in progress to end before it starts. */
  waits: boolean;
  /** The key named a run already: nothing was written. */
  recordedBefore: boolean;
}

/** The running step a step token acts for. */
export interface TokenStep {
  runId: number;
  job: string;
  /** The step's name. */
  step: string;
  attempt: number;
  index: number;
}

/** A run without its jobs; `spec` is the pipeline it runs (what a requeued run needs). */
export interface RunRecord {
  id: number;
  repo: string;
  ref: string;
  pipeline: string;
  pipelineFile: string;
  spec: Pipeline;
  state: RunState;
  failureKind: FailureKind | null;
  failureSummary: string | null;
  supersededBy: number | null;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  commit: string | null;
  tree: string | null;
  dirty: boolean;
  workspace: string;
  trigger: string;
  notify: boolean;
  noCache: boolean;
  /** The run whose tree this one ran again; null when it is not a rerun, or that run has been removed. */
  rerunOf: number | null;
}

/** A run that has ended, as retention sees it. */
export interface FinishedRun {
  id: number;
  state: Exclude<RunState, "pending" | "active">;
  finishedAt: number;
}

export interface StepView {
  index: number; // position in the job, 0-based
  attempt: number;
  name: string;
  command: string;
  state: StepState;
  exitCode: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  log: string; // relative to the home's logs/ directory
}

export interface JobView {
  name: string;
  state: JobState;
  attempt: number; // the current (latest) attempt, 1-based
  exitCode: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  /** The run whose job's result a cached job was given; null unless the job is cached. */
  cachedFrom: number | null;
  steps: StepView[]; // every attempt's, by attempt then index; a cached job's are skipped, their logs the proving run's
}

export interface AnnotationView {
  text: string;
  job: string | null;
  step: string | null;
  createdAt: number;
}

/** A run as `quirectl runs show --json` shows it, in camelCase with ms times; the CLI makes the snake_case JSON. */
export interface RunView extends RunRecord {
  jobs: JobView[]; // in file order
  annotations: AnnotationView[]; // oldest first
}

export interface StoreStats {
  runsByState: Record<RunState, number>;
  /** Runs by state and failure kind ("" for runs that did not fail), for metrics. */
  runsByOutcome: { state: RunState; failureKind: string; n: number }[];
  jobsActive: number;
  stepsActive: number;
}
