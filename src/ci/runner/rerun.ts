// What `quirectl rerun ID [--failed]` runs: the pipeline as the run had it (its local and kept actions
// already in place), on the snapshot it recorded; with --failed, only the jobs that failed or were
// cancelled and every job that needs one of them. A job that ran again no longer waits for the jobs it
// needs that completed the first time: they are not in the rerun, their results stand.
import { RerunLiveError, RerunNoTreeError, RerunNothingFailedError } from "../errors.js";
import type { Pipeline } from "../pipeline/model.js";
import type { RunView } from "../store/index.js";
import { isGitSnapshot, type GitSnapshot } from "../workspace/snapshot.js";
import { hasEnded } from "./run-queries.js";

/** The pipeline a rerun of `run` runs; throws RerunLiveError, or RerunNothingFailedError for --failed of a run where nothing failed. */
export function rerunPipeline(run: RunView, failedOnly: boolean): Pipeline {
  if (!hasEnded(run.state)) throw new RerunLiveError(run.id, run.state);
  if (!failedOnly) return run.spec;
  const failed = run.jobs.filter((job) => job.state === "failed" || job.state === "cancelled").map((job) => job.name);
  if (failed.length === 0) throw new RerunNothingFailedError(run.id);
  const again = new Set(failed);
  // Dependents, in file order until nothing is added (needs point at jobs of the same pipeline).
  for (let grew = true; grew; ) {
    grew = false;
    for (const job of run.spec.jobs) {
      if (!again.has(job.name) && job.needs.some((need) => again.has(need))) {
        again.add(job.name);
        grew = true;
      }
    }
  }
  const jobs = run.spec.jobs
    .filter((job) => again.has(job.name))
    .map((job) => ({ ...job, needs: job.needs.filter((need) => again.has(need)) }));
  return { ...run.spec, jobs };
}

/** The snapshot run `run` recorded, as the store gave it back; throws RerunNoTreeError when there is none to run again. */
export function recordedSnapshot(run: RunView, recorded: unknown): GitSnapshot {
  if (isGitSnapshot(recorded)) return recorded;
  if (run.tree === null)
    throw new RerunNoTreeError(run.id, "it ran a copy of a directory that is not a git repository, and quire keeps no copy of that");
  throw new RerunNoTreeError(run.id, "it was recorded before quire kept the trees of runs");
}
