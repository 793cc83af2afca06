// What a run works on: the exact tree of a git working copy (or a plain directory), taken without
// touching the working copy, the real index, the stash, any ref or the object store: what the snapshot
// writes (the blobs of untracked and changed files, the trees) goes to quire's own object store for the
// repository (object-stores.ts), which reads the repository's objects as its alternate.
//
// Cost: a copy of the real index, one `git add -A` over it (stats every tracked file, lists untracked
// directories, hashes only files whose stat data changed), a listing of the index and about eight short git
// commands. Measured on a 2,000-file repository (2 cores shared with other work, load ~6, warm cache,
// medians of 7): 40-90 ms clean, 55-105 ms with 20 modified and 20 untracked files, 150-300 ms when every
// file's stat data is stale (touched since the last `git status`: each is hashed again, on every snapshot,
// because the refreshed stat data lands in the temporary index, never the real one). So a snapshot is taken
// afresh for every run request, before it is queued.
//
// With a watcher of the work tree (`SnapshotOptions.watchers`, as the ci backend has), the index is kept
// between snapshots instead and git looks only at the paths the watcher saw change (working-index.ts);
// it falls back to the copy and the full stat whenever that could differ, or the watcher cannot say. A
// few changed paths are staged in an index of their own, without reading or writing the kept index at all
// (edited-tree.ts), until enough have piled up since it was written.
import { mkdtemp, open, realpath, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { changedPaths, literalPathspec } from "./changed-paths.js";
import { editedTree, treeEntries } from "./edited-tree.js";
import { WorkspaceError } from "./errors.js";
import { git, gitMaybe, gitUtf8 } from "./git.js";
import { newKeptName, type ObjectStores } from "./object-stores.js";
import type { TreeWatchers } from "./tree-watcher.js";
import { prepareStaging, type WorkingCopy } from "./working-index.js";

export type Snapshot = GitSnapshot | DirSnapshot;

export interface GitSnapshot {
  kind: "git";
  /** The work tree's root (absolute, symlinks resolved), whatever directory inside it was given. */
  repo: string;
  /** The branch HEAD is on (short name, e.g. `main`, also on an unborn branch), or the commit when detached. */
  ref: string;
  /** The branch HEAD is on; null when HEAD is detached. */
  branch: string | null;
  /** HEAD's commit; null in a repository with no commits yet. */
  commit: string | null;
  /** The working copy's tree. */
  tree: string;
  /** What is staged: the real index as a tree (HEAD's tree when it cannot be one, in the middle of a merge). */
  staged: string;
  /** The tree differs from HEAD's tree (with no commits: from the empty tree), or a checked-out submodule is dirty. */
  dirty: boolean;
  /** quire's object store for this repository (a bare git directory): `tree`, `staged` and what only they need are there. */
  store: string;
  /** The name of the refs in `store` that keep `tree` and `staged` (`ObjectStores.forget` lets go of them). */
  kept: string;
  /** The parts of the repository a workspace is made from. */
  source: SourceParts;
  /**
   * Every gitlink of the tree (submodules and nested repositories), in index order: a checked-out one
   * with its own snapshot, or null where the working copy has nothing checked out there.
   */
  submodules: Submodule[];
}

/** Absolute paths in the repository's git directory (a linked worktree's are its main repository's) and its object format. */
export interface SourceParts {
  objects: string;
  config: string;
  /** `info/exclude`, which may not exist. */
  exclude: string;
  /** `shallow` (the commits whose parents a shallow clone does not have), which may not exist. */
  shallow: string;
  /** `sha1` or `sha256`. */
  format: string;
}

export interface Submodule {
  /** Relative to the work tree's root, with `/`. */
  path: string;
  snapshot: GitSnapshot | null;
}

/** Whether `value` (a snapshot a run recorded, read back) is a git snapshot. */
export function isGitSnapshot(value: unknown): value is GitSnapshot {
  const s = value as Partial<GitSnapshot> | null;
  return (
    typeof s === "object" &&
    s !== null &&
    s.kind === "git" &&
    typeof s.tree === "string" &&
    typeof s.store === "string" &&
    Array.isArray(s.submodules)
  );
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
const ADD_CONFIG = [
  "-c",
  "core.splitIndex=false",
  "-c",
  "core.fsmonitor=false",
  "-c",
  "core.safecrlf=false",
  "-c",
  "advice.addEmbeddedRepo=false",
];

export interface SnapshotOptions {
  /** Where the snapshot's objects are written (QUIRE_HOME/git). */
  stores: ObjectStores;
  /**
   * Snapshot this commit (a full hex id) instead of the working copy: what a git hook runs, so that a run
   * after `git commit` or before `git push` has exactly what was committed. Its submodules are the
   * commits it records, from `.git/modules` where that has them.
   */
  commit?: string;
  /**
   * Absolute paths left out of a git snapshot when they lie inside the work tree (quire's home, whose
   * secret.key and quire.db must never be hashed, stored as objects or make a run dirty). Whatever the
   * real index already holds under them (the person staged or committed it) stays as staged. A plain
   * directory is not copied here: pass the same list to `materialize`.
   */
  skip?: string[];
  /**
   * The watchers of work trees: with them, a working copy's snapshot stages what changed since its last
   * one, in an index kept for it, instead of stat'ing every file.
   */
  watchers?: TreeWatchers;
}

/** Snapshots the git work tree containing `dir` (any directory inside it), or describes a plain directory. */
export async function snapshotSource(dir: string, options: SnapshotOptions): Promise<Snapshot> {
  const absolute = resolve(dir);
  try {
    if (!(await stat(absolute)).isDirectory())
      throw new WorkspaceError(`${absolute} is not a directory; give the directory of the pipeline's repository`);
  } catch (error) {
    if (error instanceof WorkspaceError) throw error;
    throw new WorkspaceError(`cannot read ${absolute}: ${(error as Error).message}`, { cause: error });
  }
  // Asked beside the rest only where a watched work tree is: a plain directory would pay for it.
  const found = await findWorkTree(absolute, options.watchers?.watches(absolute) ?? false);
  return found === null ? { kind: "dir", dir: absolute } : snapshotWorkTree(found, options);
}

/** A work tree as git finds it from a directory in it. */
interface WorkTree {
  /** The work tree's root. */
  repo: string;
  /** The real index: absolute, like `source`'s paths. */
  index: string;
  source: SourceParts;
  /** HEAD's commit and its tree; null in a repository with no commits yet. */
  head: { commit: string; tree: string } | null;
  /** The branch HEAD is on (also unborn); null when detached. */
  branch: string | null;
  /**
   * What core.excludesFile says (null: nothing), when it was asked with the rest: a watched snapshot's
   * kept index depends on it.
   */
  excludesFile?: string | null;
}

// --git-path answers relative to the directory git ran in (the real index of a linked worktree is not
// under <repo>/.git).
const GIT_PATHS = ["index", "objects", "config", "info/exclude", "shallow"].flatMap((path) => ["--git-path", path]);

// The work tree containing `dir`, or null when `dir` is in no git repository. One `rev-parse` says where
// it is, HEAD's commit, its tree and its branch (HEAD is read twice in that one process, microseconds
// apart: a commit landing between would pair the new commit with the old tree, as any snapshot taken
// while the person commits sees one or the other). A HEAD with no commit yet fails it: then three
// processes ask what is there. Each git process costs 2-4 ms, mostly its start; those asked together run at once.
async function findWorkTree(dir: string, askExcludesFile: boolean): Promise<WorkTree | null> {
  const [where, excludesFile] = await Promise.allSettled([
    git(dir, [
      "rev-parse",
      "--show-toplevel",
      ...GIT_PATHS,
      "--show-object-format",
      "HEAD^{commit}",
      "HEAD^{tree}",
      "--symbolic-full-name",
      "HEAD",
      "--",
    ]),
    askExcludesFile ? configuredExcludesFile(dir) : undefined,
  ]);
  if (where.status === "rejected" && notInRepository(where.reason)) return null;
  const found = where.status === "fulfilled" ? fromAnswers(dir, where.value) : await findWithoutHead(dir);
  if (found === null) return null;
  if (excludesFile.status === "rejected") throw excludesFile.reason;
  return askExcludesFile ? { ...found, excludesFile: excludesFile.value?.trim() || null } : found;
}

// What findWorkTree's single `rev-parse` answered.
function fromAnswers(dir: string, answered: string): Omit<WorkTree, "excludesFile"> {
  const [repo, ...answers] = answered.split("\n");
  const [commit, tree, symbolic] = answers.slice(6, 9);
  if (!commit || !tree || !symbolic) throw new WorkspaceError(`git rev-parse gave no HEAD for ${dir}`);
  return { ...located(dir, repo, answers), head: { commit, tree }, branch: branchOf(symbolic) };
}

// What findWorkTree asks when HEAD has no commit (or the single question failed for another reason: then
// these say which): null when `dir` is in no repository.
async function findWithoutHead(dir: string): Promise<Omit<WorkTree, "excludesFile"> | null> {
  const [where, head, onBranch] = await Promise.allSettled([
    git(dir, ["rev-parse", "--show-toplevel", ...GIT_PATHS, "--show-object-format"]),
    gitMaybe(dir, ["rev-parse", "-q", "--verify", "HEAD^{commit}"]),
    gitMaybe(dir, ["symbolic-ref", "-q", "HEAD"]),
  ]);
  if (where.status === "rejected") {
    if (notInRepository(where.reason)) return null;
    // In a git directory or a bare repository there is no top level to show.
    if ((await gitMaybe(dir, ["rev-parse", "--is-inside-work-tree"]).catch(() => undefined))?.trim() === "false") {
      throw new WorkspaceError(
        `${dir} is inside a git directory or a bare repository, not a work tree; give a directory of the working copy`,
      );
    }
    throw where.reason;
  }
  if (head.status === "rejected") throw head.reason;
  if (onBranch.status === "rejected") throw onBranch.reason;
  const [repo, ...answers] = where.value.split("\n");
  const commit = head.value?.trim();
  const tree = commit ? (await git(dir, ["rev-parse", `${commit}^{tree}`])).trim() : undefined;
  const symbolic = onBranch.value?.trim();
  return { ...located(dir, repo, answers), head: commit && tree ? { commit, tree } : null, branch: symbolic ? branchOf(symbolic) : null };
}

async function configuredExcludesFile(dir: string): Promise<string | null> {
  return (await gitMaybe(dir, ["config", "--path", "--get", "core.excludesFile"]))?.trim() || null;
}

function notInRepository(error: unknown): boolean {
  return error instanceof WorkspaceError && /not a git repository/.test(error.stderr ?? "");
}

// The root and git paths from `rev-parse --show-toplevel`, GIT_PATHS and `--show-object-format`.
function located(dir: string, repo: string | undefined, answers: string[]): Pick<WorkTree, "repo" | "index" | "source"> {
  const [index, objects, config, exclude, shallow] = answers.slice(0, 5).map((path) => resolve(dir, path));
  const format = answers[5];
  if (!repo || !index || !objects || !config || !exclude || !shallow || !format)
    throw new WorkspaceError(`git rev-parse gave no work tree root for ${dir}`);
  return { repo, index, source: { objects, config, exclude, shallow, format } };
}

// The branch HEAD's full name names (`refs/heads/<branch>`); null for `HEAD` itself (detached) or a ref
// that is not a branch.
function branchOf(symbolic: string): string | null {
  return symbolic.startsWith("refs/heads/") ? symbolic.slice("refs/heads/".length) : null;
}

async function snapshotWorkTree(found: WorkTree, options: SnapshotOptions): Promise<GitSnapshot> {
  const { repo, index, source, head, branch } = found;
  const commit = head?.commit ?? null;
  const ref = branch ?? commit;
  if (!ref) throw new WorkspaceError(`HEAD of ${repo} is neither a branch nor a commit; repair it with \`git checkout <branch>\``);
  const store = await options.stores.open(source.objects, source.format);
  const kept = newKeptName();
  if (options.commit !== undefined) return snapshotCommit(repo, options.commit, { branch, store, kept, source }, options);
  const headTree = head?.tree ?? EMPTY_TREES[source.format === "sha256" ? 64 : 40]!;
  const exclusions = await excludes(repo, options.skip ?? []);
  const watcher = options.watchers?.of(repo);
  // Asked outside the store's lock, where findWorkTree did not ask it.
  const excludesFile = watcher && (found.excludesFile !== undefined ? found.excludesFile : await configuredExcludesFile(repo));
  const written = await options.stores.exclusive(store, async () => {
    const trees = watcher
      ? await watchedTree(
          { repo, realIndex: index, exclude: source.exclude, config: source.config, excludesFile: excludesFile ?? null, store, watcher },
          exclusions,
          source.format,
        )
      : await workingTree(repo, index, exclusions, store);
    const staged = trees.staged ?? headTree;
    await options.stores.keep(store, kept, { tree: trees.tree, staged }, trees.refs);
    return { ...trees, staged };
  });
  const submodules: Submodule[] = [];
  for (const path of written.gitlinks) submodules.push({ path, snapshot: await checkedOut(repo, path, options) });
  return {
    kind: "git",
    repo,
    ref,
    branch,
    commit,
    tree: written.tree,
    staged: written.staged,
    dirty: written.tree !== headTree || submodules.some((s) => s.snapshot?.dirty),
    store,
    kept,
    source,
    submodules,
  };
}

/** A hex object id, SHA-1 or SHA-256. */
const OBJECT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

// The snapshot of one commit: its tree as committed and as staged, nothing dirty; the commit's objects
// are the repository's already, so nothing is written. It is on the branch whose tip it is (HEAD's
// branch first), else detached at it; its ref is that branch, else a tag that points at it, else the
// commit itself (as a detached HEAD's run is recorded). Its submodules are the commits its tree records,
// from the repository's `.git/modules` where they are there (else empty, as a fresh clone has them).
async function snapshotCommit(
  repo: string,
  commit: string,
  parts: { branch: string | null; store: string; kept: string; source: SourceParts },
  options: SnapshotOptions,
): Promise<GitSnapshot> {
  if (!OBJECT_ID.test(commit))
    throw new WorkspaceError(`${JSON.stringify(commit)} is not a commit id: give the full hex id (git rev-parse HEAD)`);
  const found = (await gitMaybe(repo, ["rev-parse", "-q", "--verify", `${commit}^{commit}`]))?.trim();
  if (!found) throw new WorkspaceError(`${commit} is not a commit of ${repo}; was it made in another repository?`);
  const { branch, ref } = await namesOf(repo, found, parts.branch);
  const tree = (await git(repo, ["rev-parse", `${found}^{tree}`])).trim();
  await options.stores.exclusive(parts.store, () => options.stores.keep(parts.store, parts.kept, { tree, staged: tree }));
  const gitlinks = (await git(repo, ["ls-tree", "-r", "-z", found]))
    .split("\0")
    .filter((entry) => entry.startsWith("160000 "))
    .map((entry) => ({ path: entry.slice(entry.indexOf("\t") + 1), commit: entry.split(" ")[2]!.split("\t")[0]! }));
  const submodules: Submodule[] = [];
  for (const link of gitlinks) submodules.push({ path: link.path, snapshot: await recordedSubmodule(repo, found, link, options) });
  return {
    kind: "git",
    repo,
    ref,
    branch,
    commit: found,
    tree,
    staged: tree,
    dirty: false,
    store: parts.store,
    kept: parts.kept,
    source: parts.source,
    submodules,
  };
}

// The branch a commit's run is on and the ref it is recorded under (see snapshotCommit).
async function namesOf(repo: string, commit: string, head: string | null): Promise<{ branch: string | null; ref: string }> {
  const refs = (await git(repo, ["for-each-ref", "--points-at", commit, "--format=%(refname)", "refs/heads/", "refs/tags/"]))
    .split("\n")
    .filter(Boolean);
  const branches = refs.filter((r) => r.startsWith("refs/heads/")).map((r) => r.slice("refs/heads/".length));
  const branch = head !== null && branches.includes(head) ? head : (branches[0] ?? null);
  if (branch !== null) return { branch, ref: branch };
  const tag = refs.find((r) => r.startsWith("refs/tags/"));
  return { branch: null, ref: tag === undefined ? commit : tag.slice("refs/tags/".length) };
}

// The snapshot of the submodule at `link` as the commit records it, from the repository's
// `.git/modules/<name>` (the name .gitmodules gives that path, else the path); null when that git
// directory is not there or does not have the commit.
async function recordedSubmodule(
  repo: string,
  parent: string,
  link: { path: string; commit: string },
  options: SnapshotOptions,
): Promise<GitSnapshot | null> {
  const modules = resolve(repo, (await git(repo, ["rev-parse", "--git-path", "modules"])).trim());
  const names =
    (await gitMaybe(repo, ["config", "-z", "--blob", `${parent}:.gitmodules`, "--get-regexp", "^submodule\\..*\\.path$"]).catch(
      () => undefined,
    )) ?? "";
  let name = link.path;
  for (const entry of names.split("\0")) {
    const [key, value] = entry.split("\n");
    if (value === link.path && key) name = key.slice("submodule.".length, -".path".length);
  }
  const gitDir = join(modules, ...name.split("/"));
  if (!(await stat(join(gitDir, "HEAD")).catch(() => undefined))) return null;
  if ((await gitMaybe(gitDir, ["--git-dir=.", "cat-file", "-e", `${link.commit}^{commit}`]).catch(() => undefined)) === undefined)
    return null;
  const paths = ["objects", "config", "info/exclude", "shallow"].flatMap((path) => ["--git-path", path]);
  const answers = (await git(gitDir, ["--git-dir=.", "rev-parse", ...paths, "--show-object-format"])).split("\n");
  const [objects, config, exclude, shallow] = answers.slice(0, 4).map((path) => resolve(gitDir, path));
  const format = answers[4]!;
  const store = await options.stores.open(objects!, format);
  const source = { objects: objects!, config: config!, exclude: exclude!, shallow: shallow!, format };
  // Run in its git directory, git finds it whether or not a work tree of it is checked out; detached at
  // the commit, as `git submodule update` leaves it.
  const snapshot = await snapshotCommit(gitDir, link.commit, { branch: null, store, kept: newKeptName(), source }, options);
  return { ...snapshot, branch: null, ref: snapshot.commit! };
}

// The snapshot of the repository checked out at gitlink `path`, or null when nothing is checked out there
// (a submodule never initialised, or deinitialised: its directory is empty in the working copy too).
async function checkedOut(repo: string, path: string, options: SnapshotOptions): Promise<GitSnapshot | null> {
  const dir = join(repo, ...path.split("/"));
  const found = await stat(dir).catch(() => undefined);
  if (!found?.isDirectory()) return null;
  // In an empty directory git finds the outer repository, whose root is not `dir`.
  const workTree = await findWorkTree(dir, options.watchers?.watches(dir) ?? false).catch(() => null);
  if (workTree === null || resolve(workTree.repo) !== dir) return null;
  return snapshotWorkTree(workTree, options);
}

interface WrittenTrees {
  tree: string;
  /** Null when the real index cannot be written as a tree (unmerged entries). */
  staged: string | null;
  /** The paths of the tree's gitlinks. */
  gitlinks: string[];
  /** Refs (full names) to keep in the store beside the snapshot's own. */
  refs?: Record<string, string>;
}

// The tree of the working copy as `git add -A && git write-tree` would see it, staged through a copy of the
// real index so that the index's skip-worktree, assume-unchanged and force-added entries count as they do
// for the person, and so that unchanged files are not hashed again. Objects go to `store`, whose alternate
// is the repository's object directory, so only objects the repository does not have are written.
async function workingTree(repo: string, realIndex: string, exclude: string[], store: string): Promise<WrittenTrees> {
  const temp = await mkdtemp(join(tmpdir(), "quire-snapshot-"));
  try {
    const index = join(temp, "index");
    await copyIndex(realIndex, index);
    const env = { GIT_INDEX_FILE: index, GIT_OBJECT_DIRECTORY: join(store, "objects") };
    // Before `add -A`: what the person has staged.
    const staged = (await gitMaybe(repo, ["write-tree"], { env }).catch(() => undefined))?.trim() ?? null;
    await git(repo, [...ADD_CONFIG, "add", "-A", "--", ":(top)", ...exclude], { env });
    const tree = (await git(repo, ["write-tree"], { env })).trim();
    return { tree, staged, gitlinks: await listGitlinks(repo, env) };
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

// What changed since the kept index was last written is staged in an index of its own when it is this
// little (edited-tree.ts), the kept index left as it was; past it, in the kept index, which then holds it.
const EDITED_PATHS = 32;

// The same trees, staged in the index kept for the working copy: `add -A` looks at what the watcher saw
// change (and at everything when the index is started afresh); a few changes are staged beside it.
async function watchedTree(copy: WorkingCopy, exclude: string[], format: string): Promise<WrittenTrees> {
  const staging = await prepareStaging(copy, copyIndex);
  const objects = { GIT_OBJECT_DIRECTORY: join(copy.store, "objects") };
  // The person's index is the same as at the previous staging when that is reused, and so is what it stages.
  const staged = staging.previous ? staging.previous.staged : await stagedTree(copy.repo, copy.realIndex, objects);
  const env = { GIT_INDEX_FILE: staging.index, ...objects, ...staging.env };
  const add = [...ADD_CONFIG, ...staging.config, "add", "-A"];
  const { previous } = staging;
  const paths = previous && (await changedPaths(copy.repo, staging.changed!, previous.gitlinks, inTree(copy.repo, previous.tree, objects)));
  const pathspecs = paths?.map(literalPathspec) ?? null;
  if (previous?.plain && staged !== null && paths && paths.length <= EDITED_PATHS) {
    const edited = await editedTree({
      repo: copy.repo,
      base: previous.tree,
      gitlinks: previous.gitlinks,
      staged,
      paths,
      format,
      env: objects,
      scratch: dirname(staging.index),
      add: (env) => addChanged(copy.repo, [...ADD_CONFIG, "add", "-A"], pathspecs!, exclude, env),
    });
    // Not recorded as done: the next staging is of what changed since the kept index was written, again.
    if (edited) return { tree: edited.tree, staged, gitlinks: edited.gitlinks };
  }
  if (previous?.plain && staged !== null && paths) await restageFrom(copy.repo, staged, paths, staging.config, env);
  // Too many paths to name (or the root changed): the kept index cannot be made the person's at each, so it
  // starts again from a copy of the person's index, as a snapshot without a watcher does.
  if (previous && !paths) {
    await rm(staging.index, { force: true });
    await copyIndex(copy.realIndex, staging.index);
  }
  if (!pathspecs || !(await addChanged(copy.repo, add, pathspecs, exclude, env)))
    await git(copy.repo, [...add, "--", ":(top)", ...exclude], { env });
  // write-tree writes the index too: with the same settings, so that it keeps git's fsmonitor data.
  const tree = (await git(copy.repo, [...staging.config, "write-tree"], { env })).trim();
  const gitlinks = staging.previous ? await gitlinksSince(copy.repo, staging.previous, tree, objects) : await listGitlinks(copy.repo, env);
  return { tree, staged, gitlinks, refs: await staging.done({ tree, gitlinks, staged }) };
}

// Makes the kept index's entries at `paths` those of the person's index (`staged`, as a tree) again, so that
// `add -A` stages over what a copy of the person's index has there (edited-tree.ts says why it matters);
// with the add's settings, so that it keeps git's fsmonitor data. Not for names that are not UTF-8.
async function restageFrom(repo: string, staged: string, paths: string[], config: string[], env: Record<string, string>): Promise<void> {
  const theirs = await treeEntries(repo, staged, paths, env);
  const listed = await gitUtf8(repo, ["ls-files", "-s", "-z", "--", ...paths], { env: { ...env, GIT_LITERAL_PATHSPECS: "1" } });
  if (theirs === null || listed === null) return;
  // `<mode> <id>` by path: an ls-tree line is `<mode> <type> <id>\t<path>`, an ls-files -s one `<mode> <id> <stage>\t<path>`.
  const ours = new Map<string, string>();
  for (const line of listed.split("\0")) {
    const [mode, id] = line.slice(0, line.indexOf("\t")).split(" ");
    if (line !== "") ours.set(line.slice(line.indexOf("\t") + 1), `${mode} ${id}`);
  }
  const lines: string[] = [];
  for (const [path, line] of theirs) {
    const [mode, , id] = line.slice(0, line.indexOf("\t")).split(" ");
    if (ours.get(path) !== `${mode} ${id}`) lines.push(`${mode} ${id}\t${path}`);
  }
  // Mode 0 removes an entry.
  for (const [path, entry] of ours) if (!theirs.has(path)) lines.push(`0 ${"0".repeat(entry.split(" ")[1]!.length)}\t${path}`);
  if (lines.length > 0)
    await git(repo, [...config, "update-index", "-z", "--index-info"], { env, input: lines.map((l) => `${l}\0`).join("") });
}

// Which of `paths` the tree has (for paths gone with every directory above them: changed-paths.ts).
function inTree(repo: string, tree: string, objects: Record<string, string>): (paths: string[]) => Promise<Set<string>> {
  return async (paths) => {
    const listed = await git(repo, ["ls-tree", "-z", "--name-only", "--full-tree", tree, "--", ...paths], {
      env: { ...objects, GIT_LITERAL_PATHSPECS: "1" },
    });
    return new Set(listed.split("\0").filter((path) => path !== ""));
  };
}

// `add -A` limited to the pathspecs of what changed (changed-paths.ts); false when git refused them
// (a path now beyond a symbolic link, or gone meanwhile), having written nothing: the caller adds the
// whole tree then. A pathspec naming an ignored path adds nothing and makes git exit with 1 after doing
// the rest; an incremental staging holds no ignored file, so there is nothing of it to update either.
async function addChanged(
  repo: string,
  add: string[],
  pathspecs: string[],
  exclude: string[],
  env: Record<string, string>,
): Promise<boolean> {
  if (pathspecs.length === 0) return true; // nothing changed
  try {
    await git(repo, [...add, "--pathspec-from-file=-", "--pathspec-file-nul"], { env, input: [...pathspecs, ...exclude].join("\0") });
    return true;
  } catch (error) {
    if (!(error instanceof WorkspaceError)) throw error;
    const code = (error.cause as { code?: unknown })?.code;
    return code === 1 && error.stderr?.includes("The following paths are ignored by one of your .gitignore files") === true;
  }
}

// The real index as a tree, written from a copy (write-tree would write the real index's cache data back).
async function stagedTree(repo: string, realIndex: string, objects: Record<string, string>): Promise<string | null> {
  const temp = await mkdtemp(join(tmpdir(), "quire-snapshot-"));
  try {
    const index = join(temp, "index");
    await copyIndex(realIndex, index);
    return (await gitMaybe(repo, ["write-tree"], { env: { GIT_INDEX_FILE: index, ...objects } }).catch(() => undefined))?.trim() ?? null;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}

// The paths of the index's gitlinks, in index order.
async function listGitlinks(repo: string, env: Record<string, string>): Promise<string[]> {
  const gitlinks = [];
  for (const entry of (await git(repo, ["ls-files", "--stage", "-z"], { env })).split("\0")) {
    if (entry.startsWith("160000 ")) gitlinks.push(entry.slice(entry.indexOf("\t") + 1));
  }
  return gitlinks;
}

// The gitlinks of `tree`, from those of the previous tree and what differs between the two.
async function gitlinksSince(
  repo: string,
  previous: { tree: string; gitlinks: string[] },
  tree: string,
  objects: Record<string, string>,
): Promise<string[]> {
  if (previous.tree === tree) return previous.gitlinks;
  const links = new Set(previous.gitlinks);
  // `:old-mode new-mode old-id new-id status\0path\0`, with rename detection off.
  const fields = (await git(repo, ["diff-tree", "-r", "-z", "--no-renames", previous.tree, tree], { env: objects })).split("\0");
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const path = fields[i + 1]!;
    if (fields[i]!.split(" ")[1] === "160000") links.add(path);
    else links.delete(path);
  }
  return [...links].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
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
  let handle: import("node:fs/promises").FileHandle;
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
