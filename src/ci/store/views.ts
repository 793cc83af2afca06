import { jobOf, type Pipeline } from "../pipeline/model.js";
import type { AnnotationView, FailureKind, JobState, JobView, RunRecord, RunState, RunView, StepState, StepView } from "./types.js";

// Rows as SQLite returns them, and their mapping to the public views.

export interface RunRow {
  id: number;
  repo: string;
  ref: string;
  pipeline: string;
  pipeline_file: string;
  spec: string;
  state: string;
  failure_kind: string | null;
  failure_summary: string | null;
  superseded_by: number | null;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  commit_sha: string | null;
  tree: string | null;
  dirty: number;
  workspace: string;
  triggered_by: string;
  notify: number;
  no_cache: number;
  rerun_of: number | null;
}

export interface JobRow {
  id: number;
  run_id: number;
  name: string;
  state: string;
  attempt: number;
  exit_code: number | null;
  started_at: number | null;
  finished_at: number | null;
  cached_from: number | null;
}

export interface StepRow {
  job_id: number;
  attempt: number;
  position: number;
  name: string;
  command: string;
  state: string;
  exit_code: number | null;
  started_at: number | null;
  finished_at: number | null;
  log: string;
}

export interface AnnotationRow {
  run_id: number;
  job: string | null;
  step: string | null;
  text: string;
  created_at: number;
}

// The CHECK constraints guarantee the state columns hold only the known values, so the casts are safe.
export function toRunRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    repo: r.repo,
    ref: r.ref,
    pipeline: r.pipeline,
    pipelineFile: r.pipeline_file,
    spec: specOf(r.spec),
    state: r.state as RunState,
    failureKind: r.failure_kind as FailureKind | null,
    failureSummary: r.failure_summary,
    supersededBy: r.superseded_by,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    commit: r.commit_sha,
    tree: r.tree,
    dirty: r.dirty === 1,
    workspace: r.workspace,
    trigger: r.triggered_by,
    notify: r.notify === 1,
    noCache: r.no_cache === 1,
    rerunOf: r.rerun_of,
  };
}

/** A recorded pipeline; a run recorded by an older quire gets the defaults of the job fields it did not know (its caches, say). */
function specOf(text: string): Pipeline {
  const spec = JSON.parse(text) as Pipeline;
  return { ...spec, jobs: spec.jobs.map((job) => jobOf(job)) };
}

export function toStepView(s: StepRow): StepView {
  return {
    index: s.position,
    attempt: s.attempt,
    name: s.name,
    command: s.command,
    state: s.state as StepState,
    exitCode: s.exit_code,
    startedAt: s.started_at,
    finishedAt: s.finished_at,
    log: s.log,
  };
}

/**
 * Assembles views from rows of several runs at once (listRuns reads each table once, not once per run).
 * `jobs` must be ordered by run and position, `steps` by job, attempt and position, `annotations` by id.
 */
export function toRunViews(runs: RunRow[], jobs: JobRow[], steps: StepRow[], annotations: AnnotationRow[]): RunView[] {
  const views = new Map<number, RunView>();
  for (const r of runs) views.set(r.id, { ...toRunRecord(r), jobs: [], annotations: [] });
  const jobViews = new Map<number, JobView>();
  for (const j of jobs) {
    const job: JobView = {
      name: j.name,
      state: j.state as JobState,
      attempt: j.attempt,
      exitCode: j.exit_code,
      startedAt: j.started_at,
      finishedAt: j.finished_at,
      cachedFrom: j.cached_from,
      steps: [],
    };
    const run = views.get(j.run_id);
    if (run === undefined) continue;
    run.jobs.push(job);
    jobViews.set(j.id, job);
  }
  for (const s of steps) jobViews.get(s.job_id)?.steps.push(toStepView(s));
  for (const a of annotations) {
    views.get(a.run_id)?.annotations.push({ text: a.text, job: a.job, step: a.step, createdAt: a.created_at } satisfies AnnotationView);
  }
  return [...views.values()];
}
