// The tree part of each job's inputs, taken when the run is submitted, from the snapshot that the run
// works on: the whole tree, or for a job with `inputs:` the entries of the tree at those paths (`git
// ls-tree`: mode, object and path, so a path that is not there counts too). Jobs share one workspace and
// write into it as they run, so the tree the run started from is what their inputs are read from.
import { createHash } from "node:crypto";
import { posix, relative, sep } from "node:path";
import type { Pipeline } from "../pipeline/model.js";
import { git } from "../workspace/git.js";
import type { Snapshot } from "../workspace/snapshot.js";

/**
 * `pipeline` (read from a file in `pipelineDir`) with each job's `inputTree` set. A plain directory has
 * no tree: its jobs keep none, and are never cached.
 */
export async function withInputTrees(pipeline: Pipeline, snapshot: Snapshot, pipelineDir: string): Promise<Pipeline> {
  if (snapshot.kind !== "git") return pipeline;
  // Where `inputs` paths are relative to: quire.yml's directory, a workflow's repository root.
  const dir = pipeline.kind === "github" ? "." : relative(snapshot.repo, pipelineDir).split(sep).join("/") || ".";
  const jobs = await Promise.all(
    pipeline.jobs.map(async (job) => ({ ...job, inputTree: job.inputs === null ? snapshot.tree : await subtrees(snapshot.store, snapshot.tree, job.inputs.map((path) => posix.join(dir, path))) })),
  );
  return { ...pipeline, jobs };
}

/** A hash of the entries of `tree` (in the object store `store`) at `paths` (relative to its root; `.` is the tree itself). */
async function subtrees(store: string, tree: string, paths: string[]): Promise<string> {
  const named = paths.filter((path) => path !== ".");
  const listed = named.length === 0 ? "" : await git(store, ["ls-tree", "-z", "--full-tree", tree, "--", ...named], { env: { GIT_LITERAL_PATHSPECS: "1" } });
  const whole = paths.length > named.length ? `040000 tree ${tree}\t.\0` : "";
  return createHash("sha256").update(whole + listed).digest("hex");
}
