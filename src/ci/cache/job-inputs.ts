// What a job's result depends on, as one hash: its definition after expansion (steps, env, matrix values,
// the names of its secrets, its caches and paths, as the run records it), the pipeline's env, where its
// steps start, the tree (the run's, or the subtrees its `inputs:` name: Job.inputTree) and its needs'
// results, each by the hash of its own inputs. The repository is part of it: results are never shared
// between repositories. What the machine has (tools, the daemon's environment, secret values) is not.
// The remote cache's key is the same hash with the repository's path left out, so every clone of it (on
// any machine, at any path) shares results: the tree's hashes say what the files hold wherever they are.
import { createHash } from "node:crypto";
import type { Job, Pipeline } from "../pipeline/model.js";

/** A need of the job as it ended: its inputs, null when it did not succeed or has none. */
export interface NeedInputs {
  name: string;
  inputs: string | null;
}

export interface JobInputsOf {
  /** The repository's path; null leaves it out (the remote cache's key). */
  repo: string | null;
  pipeline: Pipeline;
  job: Job;
  /** Where the job's steps start, relative to the run's workspace. */
  dir: string;
  needs: readonly NeedInputs[];
}

/** The hex SHA-256 of the job's inputs; null when they are not all known (no tree, a need without inputs). */
export function jobInputs({ repo, pipeline, job, dir, needs }: JobInputsOf): string | null {
  if (job.inputTree === null || needs.some((need) => need.inputs === null)) return null;
  const inputs = {
    version: 1,
    repo,
    kind: pipeline.kind,
    env: pipeline.env,
    dir,
    job,
    needs: [...needs].sort((a, b) => (a.name < b.name ? -1 : 1)),
  };
  return createHash("sha256").update(canonicalJson(inputs)).digest("hex");
}

/** JSON with every object's keys sorted, so that equal values always hash alike. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
