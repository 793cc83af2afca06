// The index a snapshot stages the working copy in, kept between snapshots of the same working copy (in
// quire's object store for the repository) so that `git add -A` looks only at what changed: git asks an
// fsmonitor hook (protocol 2) what changed since the token the index holds, and trusts the stat data of
// everything else; its untracked cache skips the directories nothing changed in. The hook answers what
// the work tree's watcher (tree-watcher.ts) said, written to a file just before git runs.
//
// It is the same as staging a fresh copy of the person's index (what a snapshot without a watcher does)
// only while what the copy would start from is the same: so the kept index is started afresh from a copy
// (and git stats every file, once) whenever the person's index, `info/exclude`, the excludes file or the
// repository's config changed, a `.gitignore` did, the index holds a file that the ignore rules match
// (it stays when deleted and made again, which an index that has forgotten it would not see), or the
// watcher cannot say what changed.
import { createHash } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gitMaybe } from "./git.js";
import type { Changes, TreeWatcher } from "./tree-watcher.js";

// git runs the hook with the protocol version and the index's token. It hands out the token for now
// either way: with the changes when asked about the token they were computed against, with none when
// asked about now itself (a later git command of the same snapshot; what changes after now is reported
// against it next time), else with "/" (anything may have changed: git stats every file).
const HOOK = `#!/bin/sh
# quire's fsmonitor hook for its snapshots' own index (never the person's): it answers what quire's
# watcher of the work tree said, which quire wrote for this snapshot.
: > "$QUIRE_FSMONITOR_RAN"
if [ "$1" = 2 ] && [ "$2" = "$QUIRE_FSMONITOR_NOW" ]; then printf '%s\\0' "$2"; exit 0; fi
if [ "$1" = 2 ] && [ "$2" = "$QUIRE_FSMONITOR_SINCE" ]; then exec cat -- "$QUIRE_FSMONITOR_ANSWER"; fi
printf '%s\\0/\\0' "$QUIRE_FSMONITOR_NOW"
`;

/** What is kept beside the index. */
interface IndexState {
  /** The digest of what a fresh copy would start from (the person's index, the ignore rules, the config). */
  basis: string;
  /** The token git saved in the index: what the watcher's next answer is computed against. */
  token: string;
  /** The tree the index was written as, and its gitlinks (index order). */
  tree: string;
  gitlinks: string[];
  /** The person's index as a tree (null when it cannot be one). */
  staged: string | null;
  /**
   * The index holds no skip-worktree or assume-unchanged entry (nor an unmerged one), which `add -A`
   * leaves as they are: what lies at a path can then be staged again in an index of its own (edited-tree.ts).
   */
  plain: boolean;
}

/** A staging of the working copy: the index to `add -A` in, and the environment and settings git needs for it. */
export interface Staging {
  index: string;
  /** `-c` settings for `git add -A`. */
  config: string[];
  env: Record<string, string>;
  /** Whether git looks only at what changed (false: every file is stat'ed). */
  incremental: boolean;
  /** The paths the watcher saw change since the previous staging, and its gitlinks (incremental only). */
  changed: string[] | null;
  /** The previous staging's tree, gitlinks and staged tree (incremental only). */
  previous: Pick<IndexState, "tree" | "gitlinks" | "staged" | "plain"> | null;
  /**
   * Records the result once `add -A` and `write-tree` succeeded; returns the refs (full names) to keep in
   * the store, so that the trees the next staging starts from stay there. Left uncalled (the index was
   * not touched), the next staging is of everything that changed since the previous one that was done.
   */
  done(result: { tree: string; gitlinks: string[]; staged: string | null }): Promise<Record<string, string>>;
}

/** The inputs of a working copy's staging. */
export interface WorkingCopy {
  repo: string;
  /** The person's index (it may not exist). */
  realIndex: string;
  exclude: string;
  config: string;
  /** What core.excludesFile says (null: nothing, and git reads XDG_CONFIG_HOME/git/ignore). */
  excludesFile: string | null;
  /** quire's object store for the repository: the kept index lives there. */
  store: string;
  watcher: TreeWatcher;
}

/**
 * Prepares the kept index of `copy` for `add -A`: reused when nothing it started from changed, else
 * copied afresh from the person's index with `copyIndex`. Call it inside the store's `exclusive`.
 */
export async function prepareStaging(copy: WorkingCopy, copyIndex: (from: string, to: string) => Promise<void>): Promise<Staging> {
  const name = createHash("sha256").update(copy.realIndex).digest("hex").slice(0, 16);
  const dir = join(copy.store, "quire-index", name);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const index = join(dir, "index");
  const hook = await hookFile(join(copy.store, "quire-index"));
  const basis = await basisOf(copy);
  const state = await readState(dir);
  const reusable = state !== null && state.basis === basis && (await exists(index));
  let changes: Changes = await copy.watcher.changesSince(reusable ? state.token : undefined);
  if (changes.paths?.some((path) => /(?:^|\/)\.gitignore\/?$/.test(path))) changes = { ...changes, paths: null };
  const incremental = reusable && changes.paths !== null;
  // A copy of an index holding a file the ignore rules match is never reused (holdsIgnoredFiles).
  let reuseLater = true;
  let plain = incremental && state!.plain === true;
  if (!incremental) {
    await rm(index, { force: true });
    await copyIndex(copy.realIndex, index);
    reuseLater = !(await holdsIgnoredFiles(copy.repo, index));
    plain = reuseLater && (await holdsPlainEntries(copy.repo, index));
  }
  // Gitlinks are always looked at again: what moved a submodule's HEAD happened in its git directory, unwatched.
  const paths = incremental ? [...new Set([...changes.paths!, ...state!.gitlinks])] : [];
  const answer = join(dir, "answer");
  const ran = join(dir, "ran");
  await writeFile(answer, `${changes.now}\0${paths.map((p) => `${p}\0`).join("")}`);
  await rm(ran, { force: true });
  return {
    index,
    config: ["-c", `core.fsmonitor=${shellQuoted(hook)}`, "-c", "core.untrackedCache=true"],
    env: {
      QUIRE_FSMONITOR_SINCE: incremental ? state!.token : "",
      QUIRE_FSMONITOR_NOW: changes.now,
      QUIRE_FSMONITOR_ANSWER: answer,
      QUIRE_FSMONITOR_RAN: ran,
    },
    incremental,
    changed: incremental ? paths : null,
    previous: incremental ? state : null,
    done: async (result) => {
      // If git did not ask the hook, the index holds no token of the watcher's: the next staging starts afresh.
      const asked = await exists(ran);
      await writeState(dir, asked && reuseLater ? { basis, token: changes.now, ...result, plain } : null);
      const refs: Record<string, string> = { [`refs/quire/index/${name}/tree`]: result.tree };
      if (result.staged !== null) refs[`refs/quire/index/${name}/staged`] = result.staged;
      return refs;
    },
  };
}

// Whether the person's index (a fresh copy of it) holds a file the ignore rules match (a force-added one):
// staged from it, such a file is in the tree whenever it exists, but an index reused after it was deleted
// has forgotten it, and would not add it back. (A reused index starts from the same person's index and
// the same rules: the basis says so.)
async function holdsIgnoredFiles(repo: string, index: string): Promise<boolean> {
  const listed = await gitMaybe(repo, ["ls-files", "-z", "--cached", "--ignored", "--exclude-standard"], {
    env: { GIT_INDEX_FILE: index },
  });
  return listed === undefined || listed.length > 0;
}

// Whether every entry of the index is a plain tracked file (`ls-files -v` tags it H).
async function holdsPlainEntries(repo: string, index: string): Promise<boolean> {
  const listed = await gitMaybe(repo, ["ls-files", "-z", "-v"], { env: { GIT_INDEX_FILE: index } });
  return listed?.split("\0").every((entry) => entry === "" || entry.startsWith("H ")) === true;
}

// The digest of what a copy of the person's index would start from.
async function basisOf(copy: WorkingCopy): Promise<string> {
  const hash = createHash("sha256");
  const defaultExcludes = join(process.env.XDG_CONFIG_HOME || join(process.env.HOME ?? "", ".config"), "git", "ignore");
  for (const file of [copy.realIndex, copy.exclude, copy.config, copy.excludesFile || defaultExcludes]) {
    const bytes = await readFile(file).catch(() => null);
    hash.update(bytes === null ? "-" : `${bytes.length}:`).update(bytes ?? "");
  }
  return hash.digest("hex");
}

async function hookFile(dir: string): Promise<string> {
  const path = join(dir, "fsmonitor-hook");
  if ((await readFile(path, "utf8").catch(() => "")) === HOOK) return path;
  const temp = `${path}.${process.pid}.${Date.now()}`;
  await writeFile(temp, HOOK, { mode: 0o700 });
  await chmod(temp, 0o700);
  await rename(temp, path);
  return path;
}

// git runs a hook path with a shell when it holds a space or a quote, and execs it otherwise: quoted, it
// always goes through the shell, which unquotes it.
function shellQuoted(path: string): string {
  return `'${path.replaceAll("'", "'\\''")}'`;
}

async function readState(dir: string): Promise<IndexState | null> {
  try {
    const state = JSON.parse(await readFile(join(dir, "state.json"), "utf8")) as IndexState;
    return typeof state.basis === "string" && typeof state.token === "string" && Array.isArray(state.gitlinks) ? state : null;
  } catch {
    return null;
  }
}

async function writeState(dir: string, state: IndexState | null): Promise<void> {
  const path = join(dir, "state.json");
  if (state === null) return rm(path, { force: true });
  await writeFile(`${path}.new`, `${JSON.stringify(state)}\n`);
  await rename(`${path}.new`, path);
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
