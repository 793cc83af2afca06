// Runs as the page reads them: plain JSON with times in ms since the epoch (null when not set). A step's
// log is named by its job and its place in the job, never by its path: the page cannot ask for a file.
import type { CiAnnotation, CiJob, CiRun, CiStep } from "../client/ci.js";

const time = (ms: bigint) => (ms === 0n ? null : Number(ms));

/** What the list shows of a run. */
export function runSummary(run: CiRun) {
  return {
    id: Number(run.id),
    repo: run.repo,
    ref: run.ref,
    pipeline: run.pipeline,
    state: run.state,
    failureKind: run.failureKind || null,
    failureSummary: run.failureSummary || null,
    commit: run.commit || null,
    dirty: run.dirty,
    trigger: run.trigger || null,
    rerunOf: Number(run.rerunOf) || null,
    supersededBy: Number(run.supersededBy) || null,
    createdAt: time(run.createdUnixMs),
    startedAt: time(run.startedUnixMs),
    finishedAt: time(run.finishedUnixMs),
  };
}

/** A run's page: the summary, its jobs and steps, annotations and summaries. */
export function runDetail(run: CiRun) {
  return {
    ...runSummary(run),
    tree: run.tree || null,
    pipelineFile: run.pipelineFile || null,
    jobs: run.jobs.map(job),
    annotations: run.annotations.map(annotation),
  };
}

function job(j: CiJob) {
  return {
    name: j.name,
    state: j.state,
    exitCode: j.hasExitCode ? j.exitCode : null,
    startedAt: time(j.startedUnixMs),
    finishedAt: time(j.finishedUnixMs),
    attempt: j.attempt,
    maxAttempts: j.maxAttempts,
    needs: j.needs,
    cachedFrom: Number(j.cachedFrom) || null,
    steps: j.steps.map(step),
  };
}

function step(s: CiStep, index: number) {
  return {
    index,
    name: s.name,
    state: s.state,
    exitCode: s.hasExitCode ? s.exitCode : null,
    startedAt: time(s.startedUnixMs),
    finishedAt: time(s.finishedUnixMs),
    attempt: s.attempt,
    command: s.command,
    summary: s.summary || null,
  };
}

function annotation(a: CiAnnotation) {
  return { text: a.text, job: a.job || null, step: a.step || null, createdAt: time(a.createdUnixMs) };
}
