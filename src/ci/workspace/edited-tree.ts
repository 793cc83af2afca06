// The tree of a working copy made from the tree its kept index was last written as (the base) and the
// few paths that changed since: what lies at those paths is staged again in an index of its own, holding
// only the person's index's entries there (what a fresh copy of it, the snapshot without a watcher, stages
// over), by the caller's `git add -A` (so ignore rules, attributes, filters, line endings and embedded
// repositories are git's); the trees above them are rebuilt here from the base's and written with `git
// mktree`. The kept index is neither read nor written: `add -A` and `write-tree` on an index of 20,000
// entries take 20-25 ms, each reading, hashing and writing all of it; this takes 6-8 ms whatever the size
// of the tree.
//
// It equals what `add -A` and `write-tree` on the kept index give only if that index holds nothing but
// the base (no skip-worktree or assume-unchanged entries, which `add` leaves as they are: the caller's
// precondition) and nothing above the changed paths changed (the watcher's word, as for the incremental add).
// An entry at a changed path decides how a file is staged over it (see `staged`), so it is the person's.
import { createHash } from "node:crypto";
import { lstat, rm } from "node:fs/promises";
import { join } from "node:path";
import { WorkspaceError } from "./errors.js";
import { git, gitBytes, gitUtf8, utf8 } from "./git.js";

const TREE = "40000";
const GITLINK = "160000";

// Beyond these the staging index of its own stops being small: the kept index is cheaper to bring along.
// Until it is, what this stages is hashed again by every snapshot (its index has no stat data to trust).
const MAX_ENTRIES = 512;
const MAX_BYTES = 8 * 1024 * 1024;

export interface TreeEdit {
  repo: string;
  /** The tree the changes are made to, and its gitlinks (index order). */
  base: string;
  /**
   * The person's index as a tree (it is the same since the kept index was started from it): what a path is
   * staged again from, as a copy of that index stages it. Its entry decides what staging makes of a file:
   * the mode under core.filemode=false, whether CRs stay under core.autocrlf (its blob has them), a link
   * under core.symlinks=false; the base may not hold it so any more (a file deleted since, or staged anew).
   */
  staged: string;
  gitlinks: readonly string[];
  /** The changed paths (relative, with `/`; none inside another): what lies at each is staged anew. */
  paths: readonly string[];
  /** `sha1` or `sha256`: how tree ids are computed. */
  format: string;
  /** Where objects are written and read (GIT_OBJECT_DIRECTORY). */
  env: Record<string, string>;
  /** A directory of quire's for the staging index. */
  scratch: string;
  /** Runs the caller's `git add -A` of `paths` with this index; false when git refused the paths. */
  add(env: Record<string, string>): Promise<boolean>;
}

export interface EditedTree {
  tree: string;
  gitlinks: string[];
}

interface Entry {
  mode: string;
  id: string;
}

/** A directory being rebuilt: its entries by name, a subdirectory being rebuilt as a Dir of its own. */
type Dir = Map<string, Entry | Dir>;

/**
 * The base with what lies at each changed path staged again, or null when this cannot say (an ancestor
 * of a path is a file in the base, too much lies at the paths, git refused them, a name there is not
 * UTF-8, or nothing would be left of the tree): the caller then stages in the kept index, which from
 * then on holds it.
 */
export async function editedTree(edit: TreeEdit): Promise<EditedTree | null> {
  if (edit.paths.length === 0) return { tree: edit.base, gitlinks: [...edit.gitlinks] };
  if (edit.paths.some((path) => path.includes("\n"))) return null; // cat-file --batch reads names by line
  const [root, stagedRoot] = await readTrees(edit, [edit.base, edit.staged]);
  if (!root || !stagedRoot) return null;
  const staged = await stageAnew(edit, stagedRoot);
  if (staged === null) return null;
  for (const path of edit.paths) dirOf(root, parentOf(path), false)?.delete(lastName(path));
  for (const { path, mode, id } of staged) {
    const dir = dirOf(root, parentOf(path), true);
    if (dir === undefined) return null;
    dir.set(lastName(path), { mode, id });
  }
  const trees: { id: string; listing: string }[] = [];
  const tree = writeDir(root, edit.format, trees);
  if (tree === null) return null;
  const written = (await git(edit.repo, ["mktree", "-z", "--batch"], { env: edit.env, input: trees.map((t) => `${t.listing}\0`).join("") }))
    .split("\n")
    .filter(Boolean);
  if (written.join() !== trees.map((t) => t.id).join())
    throw new WorkspaceError(`git mktree wrote other trees than quire made for ${edit.repo}: ${written.join(", ")}`);
  const inside = (link: string) => edit.paths.some((path) => link === path || link.startsWith(`${path}/`));
  const gitlinks = [...edit.gitlinks.filter((link) => !inside(link)), ...staged.filter((e) => e.mode === GITLINK).map((e) => e.path)];
  return { tree, gitlinks: gitlinks.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))) };
}

// The root of each of `trees` and every directory above a changed path, read into Dirs (one `cat-file
// --batch` for all); null for a tree where one of those is not a directory (a file or a gitlink) or a name
// is not UTF-8. A directory the tree does not have is an empty Dir.
async function readTrees(edit: TreeEdit, trees: readonly string[]): Promise<(Dir | null)[]> {
  const dirs = new Set([""]);
  for (const path of edit.paths) for (let at = parentOf(path); at !== ""; at = parentOf(at)) dirs.add(at);
  const ordered = [...dirs].sort((a, b) => a.split("/").length - b.split("/").length || (a < b ? -1 : 1));
  const input = trees.flatMap((tree) => ordered.map((dir) => (dir === "" ? tree : `${tree}:${dir}`))).join("\n");
  const output = await gitBytes(edit.repo, ["cat-file", "--batch"], { env: edit.env, input: `${input}\n` });
  const idLength = edit.format === "sha256" ? 32 : 20;
  let at = 0;
  return trees.map(() => {
    const read = new Map<string, Dir | null>();
    for (const dir of ordered) {
      const end = output.indexOf(10, at);
      const line = output.toString("utf8", at, end);
      at = end + 1;
      if (line.endsWith(" missing")) {
        read.set(dir, new Map());
        continue;
      }
      const header = line.split(" ");
      const size = Number(header[2]);
      read.set(dir, header[1] === "tree" ? parseTree(output.subarray(at, at + size), idLength) : null);
      at += size + 1;
    }
    // Linked up.
    for (const dir of ordered) {
      const tree = read.get(dir);
      if (tree === null) return null;
      if (dir === "") continue;
      const parent = read.get(parentOf(dir))!;
      const entry = parent.get(lastName(dir));
      if (entry !== undefined && !(entry instanceof Map) && entry.mode !== TREE) return null;
      parent.set(lastName(dir), tree!);
    }
    return read.get("")!;
  });
}

// The person's index's entries at the changed paths (`staged` holds its Dirs above them), staged again in an
// index of their own: what is there now, as a copy of the person's index stages it.
async function stageAnew(edit: TreeEdit, staged: Dir): Promise<{ path: string; mode: string; id: string }[] | null> {
  const entries: string[] = [];
  const subtrees: string[] = [];
  for (const path of edit.paths) {
    const entry = dirOf(staged, parentOf(path), false)?.get(lastName(path));
    if (entry === undefined) continue;
    if (entry instanceof Map || entry.mode === TREE) subtrees.push(path);
    else entries.push(`${entry.mode} ${entry.id}\t${path}`);
  }
  const below = await treeEntries(edit.repo, edit.staged, subtrees, edit.env);
  if (below === null) return null;
  entries.push(...below.values());
  if (entries.length > MAX_ENTRIES) return null;
  const index = join(edit.scratch, "edit-index");
  const env = { ...edit.env, GIT_INDEX_FILE: index };
  try {
    await rm(index, { force: true });
    if (entries.length > 0)
      await git(edit.repo, ["update-index", "-z", "--index-info"], { env, input: entries.map((e) => `${e}\0`).join("") });
    if (!(await edit.add(env))) return null;
    const listed = await gitUtf8(edit.repo, ["ls-files", "-s", "-z"], { env });
    if (listed === null) return null;
    const staged = [];
    for (const line of listed.split("\0")) {
      if (line === "") continue;
      const [mode, id, stage] = line.slice(0, line.indexOf("\t")).split(" ");
      if (stage !== "0") return null;
      staged.push({ path: line.slice(line.indexOf("\t") + 1), mode: mode!, id: id! });
    }
    return staged.length > MAX_ENTRIES || (await bytesOf(edit.repo, staged)) > MAX_BYTES ? null : staged;
  } finally {
    await rm(index, { force: true });
  }
}

/**
 * The entries of `tree` at `paths` (relative, with `/`; a directory's are those under it) as `ls-tree`
 * lines by path, which `update-index --index-info` takes; null when a name there is not UTF-8.
 */
export async function treeEntries(
  repo: string,
  tree: string,
  paths: readonly string[],
  env: Record<string, string>,
): Promise<Map<string, string> | null> {
  const entries = new Map<string, string>();
  if (paths.length === 0) return entries;
  const listed = await gitUtf8(repo, ["ls-tree", "-r", "-z", "--full-tree", tree, "--", ...paths], {
    env: { ...env, GIT_LITERAL_PATHSPECS: "1" },
  });
  if (listed === null) return null;
  for (const line of listed.split("\0")) if (line !== "") entries.set(line.slice(line.indexOf("\t") + 1), line);
  return entries;
}

// The size of the files `entries` name, as they are now.
async function bytesOf(repo: string, entries: readonly { path: string }[]): Promise<number> {
  let bytes = 0;
  for (const { path } of entries) bytes += (await lstat(join(repo, ...path.split("/"))).catch(() => undefined))?.size ?? 0;
  return bytes;
}

// A tree object's entries: `<mode> <name>\0<binary id>` each; null when a name is not UTF-8 (as text it
// would be another name, and the tree rebuilt from it another tree).
function parseTree(bytes: Buffer, idLength: number): Dir | null {
  const dir: Dir = new Map();
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(32, at);
    const nul = bytes.indexOf(0, space);
    const mode = bytes.toString("latin1", at, space);
    const name = utf8(bytes.subarray(space + 1, nul));
    if (name === null) return null;
    dir.set(name, { mode, id: bytes.toString("hex", nul + 1, nul + 1 + idLength) });
    at = nul + 1 + idLength;
  }
  return dir;
}

// The Dir at `path` under `root` (made, with the Dirs above it, when `make` and nothing else is there), or undefined.
function dirOf(root: Dir, path: string, make: boolean): Dir | undefined {
  let dir = root;
  if (path === "") return dir;
  for (const name of path.split("/")) {
    const next = dir.get(name);
    if (next instanceof Map) dir = next;
    else if (make && next === undefined) {
      const made: Dir = new Map();
      dir.set(name, made);
      dir = made;
    } else return undefined;
  }
  return dir;
}

// The id of the tree `dir` is, its rebuilt subdirectories first (each added to `trees` with the listing
// mktree reads); null for a directory left empty, which a tree built from an index never has.
function writeDir(dir: Dir, format: string, trees: { id: string; listing: string }[]): string | null {
  const entries: { name: string; mode: string; id: string }[] = [];
  for (const [name, entry] of dir) {
    if (!(entry instanceof Map)) entries.push({ name, ...entry });
    else {
      const id = writeDir(entry, format, trees);
      if (id !== null) entries.push({ name, mode: TREE, id });
    }
  }
  if (entries.length === 0) return null;
  // git orders a tree's entries by name, a subtree's name as if it ended with "/".
  const key = (e: { name: string; mode: string }) => Buffer.from(e.mode === TREE ? `${e.name}/` : e.name);
  entries.sort((a, b) => Buffer.compare(key(a), key(b)));
  const body = Buffer.concat(entries.map((e) => Buffer.concat([Buffer.from(`${e.mode} ${e.name}\0`), Buffer.from(e.id, "hex")])));
  const id = createHash(format === "sha256" ? "sha256" : "sha1")
    .update(`tree ${body.length}\0`)
    .update(body)
    .digest("hex");
  const type = (mode: string) => (mode === TREE ? "tree" : mode === GITLINK ? "commit" : "blob");
  trees.push({ id, listing: entries.map((e) => `${e.mode} ${type(e.mode)} ${e.id}\t${e.name}\0`).join("") });
  return id;
}

function parentOf(path: string): string {
  return path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
}

function lastName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
