// Brings a checkout that is exactly one tree (a spare workspace, restored and cleaned) to another by
// writing only the files that differ between the two trees: `git diff-tree` names them, `git
// checkout-index` writes them from an index holding just those entries (so modes, symlinks, smudge filters
// and line endings are git's own), and what the new tree no longer has is removed here, with the
// directories that leaves empty. A two-tree `read-tree -m -u` does the same but reads, merges and writes
// the whole checkout index: 20-25 ms at 20,000 files, where this is 3-5 ms.
//
// The checkout's own index is left as the first tree had it. Whatever uses it next starts with a
// `read-tree --reset -u` of the new tree (restoreCheckout, or a checkout that cannot merge), which takes
// it as it is: the entries that differ are written again, those that are the same keep their stat data.
import { lstat, rm, rmdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { git, gitUtf8 } from "./git.js";

// Beyond this many changed paths (a branch switch) the two-tree merge is as cheap per path, and it removes
// directories whole.
const MAX_CHANGES = 2_000;

const GITLINK = "160000";

/**
 * Writes into `dest` (a checkout of tree `from`, nothing else in it but `.git`) what tree `to` has
 * differently; `state` is a directory of quire's for a scratch index. False, having written nothing,
 * when this cannot be done so (too many changes, a changed `.gitattributes` that decides how other
 * files are written, a gitlink that comes or goes, a name that is not UTF-8, a link where a directory
 * above a removed file was): the caller merges instead. A failure part-way through throws; `dest` is
 * then neither tree.
 */
export async function writeChanges(dest: string, state: string, from: string, to: string): Promise<boolean> {
  if (from === to) return true;
  const diff = await gitUtf8(dest, ["diff-tree", "-r", "-z", "--no-renames", from, to]);
  // A name that is not UTF-8 is left to git, which writes and removes it under its own bytes.
  if (diff === null) return false;
  const changes = parseDiff(diff);
  if (changes.length > MAX_CHANGES) return false;
  for (const { path, oldMode, newMode } of changes) {
    if (path === ".gitattributes" || path.endsWith("/.gitattributes")) return false;
    // A submodule's new commit is checked out by the caller; one that comes or goes changes directories.
    if ((oldMode === GITLINK) !== (newMode === GITLINK)) return false;
  }
  const gone = changes.filter((c) => c.status === "D").map((c) => c.path);
  if (!(await onlyDirectoriesAbove(dest, gone))) return false;
  await removeGone(dest, gone);
  const written = changes.filter((c) => c.status !== "D" && c.newMode !== GITLINK);
  if (written.length === 0) return true;
  const index = join(state, "changes-index");
  const env = { GIT_INDEX_FILE: index };
  try {
    await rm(index, { force: true });
    await git(dest, ["update-index", "-z", "--index-info"], {
      env,
      input: written.map((c) => `${c.newMode} ${c.newId}\t${c.path}\0`).join(""),
    });
    // -f: a file (or a directory, or a symlink) where one of these goes is replaced.
    await git(dest, ["checkout-index", "-f", "-a"], { env });
  } finally {
    await rm(index, { force: true });
  }
  return true;
}

interface Change {
  oldMode: string;
  newMode: string;
  newId: string;
  /** A, D, M or T (no renames or copies are asked for). */
  status: string;
  path: string;
}

// `diff-tree -r -z` output: `:old-mode new-mode old-id new-id status\0path\0` per changed file.
function parseDiff(output: string): Change[] {
  const fields = output.split("\0");
  const changes: Change[] = [];
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const [oldMode, newMode, , newId, status] = fields[i]!.slice(1).split(" ");
    changes.push({ oldMode: oldMode!, newMode: newMode!, newId: newId!, status: status!, path: fields[i + 1]! });
  }
  return changes;
}

// Whether every directory above `paths` in `dest` is one, not a link: something a step left running may
// have made one a link out of the workspace after the restore, and a removal through it would remove
// what it leads to. git's merge never goes through a link.
async function onlyDirectoriesAbove(dest: string, paths: readonly string[]): Promise<boolean> {
  const checked = new Set<string>();
  for (const path of paths) {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      const dir = path.slice(0, slash);
      if (checked.has(dir)) continue;
      const found = await lstat(join(dest, dir)).catch(() => undefined);
      if (found !== undefined && !found.isDirectory()) return false;
      checked.add(dir);
    }
  }
  return true;
}

// Removes the files `paths` name (relative, with `/`) and then each directory that leaves empty, deepest
// first, as git does when a checkout removes a directory's last file.
async function removeGone(dest: string, paths: string[]): Promise<void> {
  const parents = new Set<string>();
  for (const path of paths) {
    await unlink(join(dest, path)).catch(ignore("ENOENT"));
    for (let slash = path.lastIndexOf("/"); slash > 0; slash = path.lastIndexOf("/", slash - 1)) parents.add(path.slice(0, slash));
  }
  const deepestFirst = [...parents].sort((a, b) => b.split("/").length - a.split("/").length);
  for (const dir of deepestFirst) await rmdir(join(dest, dir)).catch(ignore("ENOTEMPTY", "EEXIST", "ENOENT"));
}

function ignore(...codes: string[]): (error: NodeJS.ErrnoException) => void {
  return (error) => {
    if (!codes.includes(error.code ?? "")) throw error;
  };
}
