// What a run works on: the exact tree of a git working copy (or a plain directory), taken without
// touching the working copy, the real index, the stash or any ref.
//
// Cost: a copy of the real index, one `git add -A` over it (stats every tracked file, lists untracked
// directories, hashes only files whose stat data changed) and six short git commands. Measured on a
// 2,000-file repository (2 cores shared with other work, load ~6, warm cache, medians of 7): 40-90 ms
// clean, 55-105 ms with 20 modified and 20 untracked files, 150-300 ms when every file's stat data is stale
// (touched since the last `git status`: each is hashed again, on every snapshot, because the refreshed
// stat data lands in the temporary index, never the real one). Checking the tree out takes 0.2-1.3 s more.
// So a snapshot is taken afresh for every run request, before it is queued; nothing is cached.
import { mkdtemp, open, realpath, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { WorkspaceError } from "./errors.js";
import { git, gitMaybe } from "./git.js";

export type Snapshot = GitSnapshot | DirSnapshot;

export interface GitSnapshot {
  kind: "git";
  /** The work tree's root (absolute, symlinks resolved), whatever directory inside it was given. */
  repo: string;
  /** The branch HEAD is on (short name, e.g. `main`, also on an unborn branch), or the commit when detached. */
  ref: string;
  /** HEAD's commit; null in a repository with no commits yet. */
  commit: string | null;
  /** The working copy's tree, written to the repository's object store (unreachable: no ref names it). */
  tree: string;
  /** The tree differs from HEAD's tree (with no commits: from the empty tree). */
  dirty: boolean;
}

/** Not a git work tree: copied as it is when the workspace is made. */
export interface DirSnapshot {
  kind: "dir";
  dir: string;
}

// The empty tree's id by hash length (SHA-1, SHA-256): what HEAD's tree is in a repository with no commits.
const EMPTY_TREES: Record<number, string> = {
  40: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
  64: "6ef19b41225c5369f1c104d45d8d85efa9b057b53b14b4b9b939dd74decc5321",
};

// Settings for the temporary-index `git add -A`: write a whole index (a split index would write shared
// index files into .git), stat every file instead of trusting an fsmonitor (and never start its daemon),
// and do not fail or warn per file over line-ending conversions.
const ADD_CONFIG = ["-c", "core.splitIndex=false", "-c", "core.fsmonitor=false", "-c", "core.safecrlf=false", "-c", "advice.addEmbeddedRepo=false"];

export interface SnapshotOptions {
  /**
   * Absolute paths left out of a git snapshot when they lie inside the work tree (quire's home, whose
   * secret.key and quire.db must never be hashed, stored in .git/objects or make a run dirty). Whatever
   * the real index already holds under them (the person staged or committed it) stays as staged. A plain
   * directory is not copied here: pass the same list to `materialize`.
   */
  skip?: string[];
}

/** Snapshots the git work tree containing `dir` (any directory inside it), or describes a plain directory. */
export async function snapshotSource(dir: string, options: SnapshotOptions = {}): Promise<Snapshot> {
  const absolute = resolve(dir);
  try {
    if (!(await stat(absolute)).isDirectory()) throw new WorkspaceError(`${absolute} is not a directory; give the directory of the pipeline's repository`);
  } catch (error) {
    if (error instanceof WorkspaceError) throw error;
    throw new WorkspaceError(`cannot read ${absolute}: ${(error as Error).message}`, { cause: error });
  }
  let inside: string;
  try {
    inside = (await git(absolute, ["rev-parse", "--is-inside-work-tree"])).trim();
  } catch (error) {
    if (error instanceof WorkspaceError && /not a git repository/.test(error.stderr ?? "")) return { kind: "dir", dir: absolute };
    throw error;
  }
  if (inside !== "true") {
    throw new WorkspaceError(`${absolute} is inside a git directory or a bare repository, not a work tree; give a directory of the working copy`);
  }
  // --git-path answers relative to the directory git ran in (the real index of a linked worktree is not
  // under <repo>/.git).
  const [repo, indexPath] = (await git(absolute, ["rev-parse", "--show-toplevel", "--git-path", "index"])).split("\n");
  if (!repo || !indexPath) throw new WorkspaceError(`git rev-parse gave no work tree root for ${absolute}`);
  const index = resolve(absolute, indexPath);
  const commit = (await gitMaybe(repo, ["rev-parse", "-q", "--verify", "HEAD^{commit}"]))?.trim() ?? null;
  const branch = (await gitMaybe(repo, ["symbolic-ref", "-q", "--short", "HEAD"]))?.trim();
  const ref = branch ?? commit;
  if (!ref) throw new WorkspaceError(`HEAD of ${repo} is neither a branch nor a commit; repair it with \`git checkout <branch>\``);
  const tree = await workingTree(repo, index, await excludes(repo, options.skip ?? []));
  const headTree = commit ? (await git(repo, ["rev-parse", `${commit}^{tree}`])).trim() : EMPTY_TREES[tree.length];
  return { kind: "git", repo, ref, commit, tree, dirty: tree !== headTree };
}

// The tree of the working copy as `git add -A && git write-tree` would see it, staged through a copy of the
// real index so that the index's skip-worktree, assume-unchanged and force-added entries count as they do
// for the person, and so that unchanged files are not hashed again.
async function workingTree(repo: string, realIndex: string, exclude: string[]): Promise<string> {
  const temp = await mkdtemp(join(tmpdir(), "quire-snapshot-"));
  try {
    const index = join(temp, "index");
    await copyIndex(realIndex, index);
    const env = { GIT_INDEX_FILE: index };
    await git(repo, [...ADD_CONFIG, "add", "-A", "--", ":(top)", ...exclude], { env });
    return (await git(repo, ["write-tree"], { env })).trim();
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

// `:(exclude)` pathspecs for the skipped paths strictly inside the work tree (`repo` has its symlinks
// resolved, so the paths are too), literal so that `*` or `[` in a name is no wildcard. A path equal to
// or above the root is not excluded: leaving out the whole tree would snapshot nothing.
async function excludes(repo: string, skip: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const path of skip) {
    const rel = relative(repo, await realPathOf(resolve(path)));
    if (rel === "" || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) continue;
    out.push(`:(top,exclude,literal)${rel.split(sep).join("/")}`);
  }
  return out;
}

// The real path of `path`, or of its nearest existing ancestor with the rest appended (a home not
// created yet can still be excluded).
async function realPathOf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realPathOf(parent), basename(path));
  }
}

// Copies the index keeping its mtime, floored to the second. Git trusts an entry's stat data only when the
// file's mtime is older than the index file's ("racy git"): a copy stamped now would make a file changed in
// the same second as the last `git add` look unchanged. An older stamp only makes git check more contents.
async function copyIndex(from: string, to: string): Promise<void> {
  let handle;
  try {
    handle = await open(from, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return; // no index yet: `git add -A` starts one
    throw new WorkspaceError(`cannot read the index ${from}: ${(error as Error).message}`, { cause: error });
  }
  try {
    // One open file, so the stamp and the bytes belong together even if git replaces the index meanwhile.
    const { mtimeMs } = await handle.stat();
    await writeFile(to, await handle.readFile(), { mode: 0o600 });
    const seconds = Math.floor(mtimeMs / 1000);
    await utimes(to, seconds, seconds);
  } finally {
    await handle.close();
  }
}
