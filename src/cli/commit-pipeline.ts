// `quirectl run --commit REV`: the commit REV names in the repository holding the pipeline file, and the
// file as that commit has it (what the daemon is sent to parse: the run is that commit's, file included).
import { realpath } from "node:fs/promises";
import { basename, dirname, join, relative, sep } from "node:path";
import { MAX_PIPELINE_BYTES } from "../ci/rules.js";
import { git, gitMaybe } from "../ci/workspace/git.js";
import { ArgumentError, PipelineUsageError } from "./errors.js";

export async function pipelineAtCommit(file: string, rev: string): Promise<{ commit: string; text: string }> {
  if (rev === "" || rev.startsWith("-"))
    throw new ArgumentError(
      `--commit ${JSON.stringify(rev)} is not a revision: give a commit id, a branch or a tag (e.g. --commit HEAD~1)`,
    );
  const dir = await realpath(dirname(file)).catch(() => {
    throw new ArgumentError(`--commit: the directory of ${file} does not exist; run from the repository, or name the pipeline file there`);
  });
  const root = (await gitMaybe(dir, ["rev-parse", "--show-toplevel"]).catch(() => undefined))?.trim();
  if (!root) throw new ArgumentError(`--commit needs the pipeline file in a git work tree; ${dir} is not in one`);
  const commit = (await gitMaybe(root, ["rev-parse", "-q", "--verify", "--end-of-options", `${rev}^{commit}`]))?.trim();
  if (!commit) throw new ArgumentError(`--commit ${rev}: no such commit in ${root} (git log shows the commits)`);
  const path = relative(root, join(dir, basename(file)))
    .split(sep)
    .join("/");
  // git says 128 for a path the commit does not have.
  const size = Number((await git(root, ["cat-file", "-s", `${commit}:${path}`]).catch(() => undefined))?.trim() ?? Number.NaN);
  if (!Number.isFinite(size))
    throw new PipelineUsageError(`${path} is not in commit ${commit.slice(0, 12)} (${rev}); name a pipeline file that commit has`);
  if (size > MAX_PIPELINE_BYTES)
    throw new PipelineUsageError(
      `${path} at ${commit.slice(0, 12)} is ${size} bytes: a pipeline file is at most ${MAX_PIPELINE_BYTES} bytes`,
    );
  return { commit, text: await git(root, ["cat-file", "blob", `${commit}:${path}`]) };
}
