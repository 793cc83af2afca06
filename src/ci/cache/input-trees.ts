// The tree part of each job's inputs, taken when the run is submitted, from the snapshot that the run
// works on: the whole tree, or for a job with `inputs:` the entries of the tree at those paths (`git
// ls-tree`: mode, object and path, so a path that is not there counts too), with the working trees of
// the checked-out submodules there. Jobs share one workspace and write into it as they run, so the tree
// the run started from is what their inputs are read from.
import { createHash } from "node:crypto";
import { posix, relative, sep } from "node:path";
import type { Pipeline } from "../pipeline/model.js";
import { git } from "../workspace/git.js";
import type { GitSnapshot, Snapshot } from "../workspace/snapshot.js";

/**
 * `pipeline` (read from a file in `pipelineDir`) with each job's `inputTree` set. A plain directory has
 * no tree: its jobs keep none, and are never cached.
 */
export async function withInputTrees(pipeline: Pipeline, snapshot: Snapshot, pipelineDir: string): Promise<Pipeline> {
  if (snapshot.kind !== "git") return pipeline;
  // Where `inputs` paths are relative to: quire.yml's directory, a workflow's repository root.
  const dir = pipeline.kind === "github" ? "." : relative(snapshot.repo, pipelineDir).split(sep).join("/") || ".";
  const submodules = checkedOut(snapshot, "");
  const jobs = await Promise.all(
    pipeline.jobs.map(async (job) => {
      if (job.inputs === null)
        return {
          ...job,
          inputTree:
            submodules.length === 0 ? snapshot.tree : hash(`${snapshot.tree}\0${submodules.map((s) => `${s.path}\0${s.tree}\0`).join("")}`),
        };
      const paths = job.inputs.map((path) => posix.join(dir, path));
      return { ...job, inputTree: await subtrees(snapshot.store, snapshot.tree, paths, submodules) };
    }),
  );
  return { ...pipeline, jobs };
}

/**
 * A hash of the entries of `tree` (in the object store `store`) at `paths` (relative to its root; `.` is
 * the tree itself), and of the checked-out submodules under them: the parent's tree names a submodule's
 * commit only, not what its working copy holds.
 */
async function subtrees(store: string, tree: string, paths: string[], submodules: SubmoduleTree[]): Promise<string> {
  const named = paths.filter((path) => path !== ".");
  const listed =
    named.length === 0
      ? ""
      : await git(store, ["ls-tree", "-z", "--full-tree", tree, "--", ...named], { env: { GIT_LITERAL_PATHSPECS: "1" } });
  const whole = paths.length > named.length ? `040000 tree ${tree}\t.\0` : "";
  const under = submodules.filter((s) => paths.some((path) => path === "." || s.path === path || s.path.startsWith(`${path}/`)));
  return hash(whole + listed + under.map((s) => `${s.path}\0${s.tree}\0`).join(""));
}

interface SubmoduleTree {
  /** Relative to the run's tree. */
  path: string;
  tree: string;
}

/** The trees of the checked-out submodules of `snapshot`, theirs included, with paths under `prefix`. */
function checkedOut(snapshot: GitSnapshot, prefix: string): SubmoduleTree[] {
  return snapshot.submodules.flatMap((s) => {
    if (!s.snapshot) return [];
    const path = prefix + s.path;
    return [{ path, tree: s.snapshot.tree }, ...checkedOut(s.snapshot, `${path}/`)];
  });
}

function hash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
