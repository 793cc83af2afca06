// A run as scripts see it (`quirectl runs show ID --json`, `run --wait --json`, items of `runs --json`):
// snake_case, ISO 8601 UTC times, absent values null. Tests outside the repository read this shape.
import type { CiJob, CiRun, CiStep } from "../gen/quire/v1/ci.js";
import { isoOrNull } from "./output.js";

export function runJson(run: CiRun) {
  return {
    id: Number(run.id),
    repo: run.repo,
    ref: run.ref || null,
    pipeline: run.pipeline,
    pipeline_file: run.pipelineFile || null,
    state: run.state,
    failure_kind: run.failureKind || null,
    failure_summary: run.failureSummary || null,
    superseded_by: run.supersededBy ? Number(run.supersededBy) : null,
    created_at: isoOrNull(run.createdUnixMs),
    started_at: isoOrNull(run.startedUnixMs),
    finished_at: isoOrNull(run.finishedUnixMs),
    commit: run.commit || null,
    tree: run.tree || null,
    dirty: run.dirty,
    trigger: run.trigger || null,
    rerun_of: run.rerunOf ? Number(run.rerunOf) : null,
    jobs: run.jobs.map(jobJson),
    annotations: run.annotations.map((a) => ({
      text: a.text,
      job: a.job || null,
      step: a.step || null,
      created_at: isoOrNull(a.createdUnixMs),
    })),
  };
}

/** A job's `steps` are those of its latest attempt; `attempts` keeps every attempt's steps. */
function jobJson(job: CiJob) {
  const attempts = [...new Set(job.steps.map((s) => s.attempt))].sort((a, b) => a - b);
  return {
    name: job.name,
    state: job.state,
    exit_code: job.hasExitCode ? job.exitCode : null,
    started_at: isoOrNull(job.startedUnixMs),
    finished_at: isoOrNull(job.finishedUnixMs),
    needs: job.needs,
    attempt: job.attempt,
    // A cached job did not run: it was given the result of the same job in this run, whose logs its steps' are.
    cached_from: job.cachedFrom ? Number(job.cachedFrom) : null,
    steps: job.steps.filter((s) => s.attempt === job.attempt).map(stepJson),
    attempts: attempts.map((attempt) => ({ attempt, steps: job.steps.filter((s) => s.attempt === attempt).map(stepJson) })),
  };
}

function stepJson(step: CiStep) {
  return {
    name: step.name,
    state: step.state,
    exit_code: step.hasExitCode ? step.exitCode : null,
    started_at: isoOrNull(step.startedUnixMs),
    finished_at: isoOrNull(step.finishedUnixMs),
    log: step.log || null,
    command: step.command,
    summary: step.summary || null,
  };
}

/** The latest attempt's steps of a job. */
export function currentSteps(job: CiJob): CiStep[] {
  return job.steps.filter((s) => s.attempt === job.attempt);
}
