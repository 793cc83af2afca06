// What a run's workspace reads outside itself, for the sandbox to show it read-only. A git workspace is a
// repository of quire's whose objects are borrowed: its alternates name quire's object store for the
// repository, whose own alternate is the person's object directory; its config includes the person's.
// So does each checked-out submodule's repository. Hidden (quire's home) or private (/tmp), they would
// leave a sandboxed `git status` without HEAD.
import { readFile, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { git } from "../workspace/git.js";
import type { GitSnapshot } from "../workspace/snapshot.js";

/** Git follows alternates this deep. */
const ALTERNATES_DEPTH = 5;

/**
 * The directories the workspace's repositories read, absolute: each store they borrow from (that store
 * alone, not quire's others), and the person's repository whole (a `.git/objects` names its work tree,
 * whose .git holds the config the workspace includes), as the person's files are read-only elsewhere.
 * None for a workspace that is not a git repository. Best effort: what cannot be read is not added, and
 * git in the sandbox then says what it misses. `snapshot`, the run's as recorded, says where its
 * submodules are; without one (a run recorded before quire kept snapshots) the index does, at the cost
 * of listing every entry of a large tree.
 */
export async function workspaceReads(workspace: string, snapshot: GitSnapshot | null): Promise<string[]> {
  const reads = new Set<string>();
  for (const gitDir of await repositories(workspace, snapshot)) {
    for (const objects of await borrowed(join(gitDir, "objects"), ALTERNATES_DEPTH)) {
      const repository = dirname(objects);
      reads.add(basename(repository) === ".git" ? dirname(repository) : repository);
    }
  }
  return [...reads];
}

/** The object directories `objects` borrows from (relative ones are relative to it), and theirs. */
async function borrowed(objects: string, depth: number): Promise<string[]> {
  if (depth === 0) return [];
  const text = await readFile(join(objects, "info", "alternates"), "utf8").catch(() => "");
  const found: string[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    const dir = resolve(objects, line.trim());
    found.push(dir, ...(await borrowed(dir, depth - 1)));
  }
  return found;
}

/** The `.git` directories of the work tree at `root` and of its checked-out submodules, nested ones included. */
async function repositories(root: string, snapshot: GitSnapshot | null): Promise<string[]> {
  const gitDir = join(root, ".git");
  if (!(await stat(gitDir).catch(() => undefined))?.isDirectory()) return [];
  const found = [gitDir];
  if (snapshot) {
    for (const { path, snapshot: inner } of snapshot.submodules)
      if (inner !== null) found.push(...(await repositories(join(root, path), inner)));
    return found;
  }
  // Gitlinks (mode 160000) in the index: submodules and nested repositories, each a repository of its own.
  const staged = await git(root, ["ls-files", "--stage", "-z"]).catch(() => "");
  for (const entry of staged.split("\0")) {
    if (!entry.startsWith("160000 ")) continue;
    found.push(...(await repositories(join(root, entry.slice(entry.indexOf("\t") + 1)), null)));
  }
  return found;
}
