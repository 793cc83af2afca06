// A run as the ci lane carries it (CiRun), from the store's view of it.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stepSummaryPath, STEP_SUMMARY_SHOWN } from "../../../ci/output/step-summary.js";
import type { RunView } from "../../../ci/store/index.js";
import { CiRun } from "../../../gen/quire/v1/ci.js";

/** `view` as a CiRun; each step's log is given as its absolute path under `logDir`. */
export function runMessage(view: RunView, logDir: string): CiRun {
  const specs = new Map(view.spec.jobs.map((job) => [job.name, job]));
  return CiRun.fromPartial({
    id: BigInt(view.id),
    repo: view.repo,
    ref: view.ref,
    pipeline: view.pipeline,
    pipelineFile: view.pipelineFile,
    state: view.state,
    failureKind: view.failureKind ?? "",
    failureSummary: view.failureSummary ?? "",
    supersededBy: BigInt(view.supersededBy ?? 0),
    createdUnixMs: BigInt(view.createdAt),
    startedUnixMs: BigInt(view.startedAt ?? 0),
    finishedUnixMs: BigInt(view.finishedAt ?? 0),
    commit: view.commit ?? "",
    tree: view.tree ?? "",
    dirty: view.dirty,
    trigger: view.trigger,
    rerunOf: BigInt(view.rerunOf ?? 0),
    jobs: view.jobs.map((job) => ({
      needs: specs.get(job.name)?.needs ?? [],
      maxAttempts: 1 + (specs.get(job.name)?.retries ?? 0),
      name: job.name,
      state: job.state,
      hasExitCode: job.exitCode !== null,
      exitCode: job.exitCode ?? 0,
      startedUnixMs: BigInt(job.startedAt ?? 0),
      finishedUnixMs: BigInt(job.finishedAt ?? 0),
      attempt: job.attempt,
      cachedFrom: BigInt(job.cachedFrom ?? 0),
      steps: job.steps.map((step) => ({
        name: step.name,
        state: step.state,
        hasExitCode: step.exitCode !== null,
        exitCode: step.exitCode ?? 0,
        startedUnixMs: BigInt(step.startedAt ?? 0),
        finishedUnixMs: BigInt(step.finishedAt ?? 0),
        log: join(logDir, step.log),
        attempt: step.attempt,
        command: step.command,
      })),
    })),
    annotations: view.annotations.map((a) => ({ text: a.text, job: a.job ?? "", step: a.step ?? "", createdUnixMs: BigInt(a.createdAt) })),
  });
}

/** `run` with each step's GITHUB_STEP_SUMMARY read from beside its log (for a get: not on every watch update). */
export function withStepSummaries(run: CiRun): CiRun {
  for (const job of run.jobs) {
    for (const step of job.steps) {
      try {
        const text = readFileSync(stepSummaryPath(step.log), "utf8");
        step.summary = text.length > STEP_SUMMARY_SHOWN ? `${text.slice(0, STEP_SUMMARY_SHOWN)}\n… (cut at 64 KiB)` : text;
      } catch {
        // No summary: most steps write none.
      }
    }
  }
  return run;
}
