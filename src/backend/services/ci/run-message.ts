// A run as the ci lane carries it (CiRun), from the store's view of it.
import { join } from "node:path";
import type { RunView } from "../../../ci/store/index.js";
import { CiRun } from "../../../gen/quire/v1/ci.js";

/** `view` as a CiRun; each step's log is given as its absolute path under `logDir`. */
export function runMessage(view: RunView, logDir: string): CiRun {
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
    jobs: view.jobs.map((job) => ({
      needs: view.spec.jobs.find((j) => j.name === job.name)?.needs ?? [],
      name: job.name,
      state: job.state,
      hasExitCode: job.exitCode !== null,
      exitCode: job.exitCode ?? 0,
      startedUnixMs: BigInt(job.startedAt ?? 0),
      finishedUnixMs: BigInt(job.finishedAt ?? 0),
      attempt: job.attempt,
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
