// A snapshot of one commit rather than of the working copy: what a git hook runs, so that a run after
// `git commit` or before `git push` works on exactly what was committed or pushed, whatever else the
// working copy holds. The commit's tree is already in the repository: nothing is written there.
import { resolve } from "node:path";
import { WorkspaceError } from "./errors.js";
import { git, gitMaybe } from "./git.js";
import type { GitSnapshot } from "./snapshot.js";

/** A hex object id, SHA-1 or SHA-256. */
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/** The snapshot of `commit` (a full hex id) in the git work tree holding `dir`; its ref is HEAD's branch, else the commit. */
export async function commitSnapshot(dir: string, commit: string): Promise<GitSnapshot> {
  if (!OBJECT_ID.test(commit)) throw new WorkspaceError(`${JSON.stringify(commit)} is not a commit id: give the full hex id (git rev-parse HEAD)`);
  const absolute = resolve(dir);
  const repo = (await git(absolute, ["rev-parse", "--show-toplevel"])).trim();
  const found = (await gitMaybe(repo, ["rev-parse", "-q", "--verify", `${commit}^{commit}`]))?.trim();
  if (!found) throw new WorkspaceError(`${commit} is not a commit of ${repo}; was it made in another repository?`);
  const tree = (await git(repo, ["rev-parse", `${found}^{tree}`])).trim();
  const branch = (await gitMaybe(repo, ["symbolic-ref", "-q", "--short", "HEAD"]))?.trim();
  return { kind: "git", repo, ref: branch || found, commit: found, tree, dirty: false };
}
