// Writes a snapshot into a workspace directory: a git snapshot as a repository of its own with the tree
// checked out (an earlier run's checkout brought up to date where there is one), a plain directory by
// copying it.
import { createHash } from "node:crypto";
import {
  copyFile,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  realpath,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { WorkspaceError } from "./errors.js";
import { git } from "./git.js";
import { removeTree } from "./remove-tree.js";
import { makeRepository, mirrorRefs } from "./repository.js";
import type { GitSnapshot, Snapshot, Submodule } from "./snapshot.js";
import { writeChanges } from "./write-changes.js";

export interface MaterializeOptions {
  /** Directories a plain-directory copy leaves out (quire's home, if it lies inside the copied directory). */
  skip?: string[];
  /**
   * A directory of quire's, outside `dest`, for what a git checkout keeps between runs: the index of the
   * files as they were checked out and what was checked out (and the same per submodule). With it, a
   * `dest` holding the checkout that left them is brought to the snapshot by writing only the files that
   * differ; without it, or without such a checkout, `dest` is emptied and checked out whole.
   */
  state?: string;
}

// What `<state>/checkout.json` says about the checkout beside it.
interface CheckoutRecord {
  /** The snapshot last checked out. */
  snapshot: GitSnapshot;
  /**
   * Nothing has run in the checkout since `restoreCheckout` made it `snapshot.tree` again, exactly as the
   * index has it: the next checkout need only write what differs between the two trees.
   */
  restored: boolean;
}

const RECORD = "checkout.json";
// A `read-tree --reset -u` trusts a file whose stat data matches the index, as the person's config has
// it compared: under core.filemode=false a file a step chmod'ed kept its bit, under core.checkStat=minimal
// or core.trustctime=false a file it rewrote with its size and time kept stayed so. Compared in full here.
const RESET_CONFIG = { "core.filemode": "true", "core.trustctime": "true", "core.checkStat": "default" };

// `env` with `settings` for one git command, after those the environment already gives (GIT_CONFIG_COUNT),
// so that the command line still begins with the command (an error names it so).
function withConfig(env: Record<string, string>, settings: Record<string, string>): Record<string, string> {
  const given = Number(process.env.GIT_CONFIG_COUNT) || 0;
  const out: Record<string, string> = { ...env };
  Object.entries(settings).forEach(([key, value], i) => {
    out[`GIT_CONFIG_KEY_${given + i}`] = key;
    out[`GIT_CONFIG_VALUE_${given + i}`] = value;
  });
  out.GIT_CONFIG_COUNT = String(given + Object.keys(settings).length);
  return out;
}
const INDEX = "checkout-index";
// The workspace's index as the last checkout wrote it, suffixed with its (staged) tree.
const STAGED_INDEX = "staged-index";

/**
 * Writes the snapshot's files into `dest` (created). A git snapshot becomes a repository (`dest/.git`,
 * see repository.ts) whose HEAD is the snapshot's commit, whose index is what the person had staged and
 * whose files are the working copy's, so that `git status` and `git diff HEAD` there show what the person
 * has not committed. Files are what `git checkout` would write: modes, symlinks, smudge filters and line
 * endings as configured. A checked-out submodule or nested repository becomes a repository of its own the
 * same way; one the working copy has nothing checked out for stays an empty directory. A plain directory
 * is copied with modes and symlinks (not followed); sockets, FIFOs and devices are left out, and so are
 * `dest` and the `skip` directories if they lie inside it.
 */
export async function materialize(snapshot: Snapshot, dest: string, options: MaterializeOptions = {}): Promise<void> {
  const target = resolve(dest);
  try {
    await mkdir(target, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new WorkspaceError(`cannot create the workspace ${target}: ${(error as Error).message}`, { cause: error });
  }
  if (snapshot.kind === "git") await checkoutRepository(snapshot, target, options.state);
  else await copyDirectory(snapshot.dir, target, options.skip ?? []);
}

/**
 * Makes a checkout `materialize` left in `dest` (with `state`) its snapshot's tree again, undoing what
 * ran in it, so that the next `materialize` of the same working copy there writes only what changed.
 * Call it once nothing runs in `dest` any more.
 */
export async function restoreCheckout(dest: string, state: string): Promise<void> {
  try {
    const record = await readRecord(state);
    if (record === null || !(await exists(join(state, INDEX)))) throw new WorkspaceError(`${dest} holds no checkout to restore`);
    // A step may have changed anything in .git (its config may point the work tree elsewhere): made anew
    // before git runs there (without refs: the next checkout makes it again, with them).
    await makeRepository(dest, record.snapshot);
    const env = { GIT_INDEX_FILE: join(state, INDEX) };
    await git(dest, ["read-tree", "--reset", "-u", record.snapshot.tree], { env: withConfig(env, RESET_CONFIG) });
    // What a step added (build output, ignored or not, nested repositories too) goes.
    await git(dest, ["clean", "-ffdxq"], { env });
    await eachSubmodule(record.snapshot, dest, state, async (dir, inner, innerState) => {
      if (inner === null) await emptyDirectory(dir);
      else await restoreCheckout(dir, innerState!);
    });
    await writeRecord(state, { ...record, restored: true });
  } catch (error) {
    if (error instanceof WorkspaceError) throw error;
    throw new WorkspaceError(`cannot restore the checkout ${dest}: ${(error as Error).message}`, { cause: error });
  }
}

async function checkoutRepository(snapshot: GitSnapshot, dest: string, state: string | undefined): Promise<void> {
  const temp = state === undefined ? await mkdtemp(join(tmpdir(), "quire-checkout-")) : undefined;
  const own = state ?? temp!;
  let refs: Promise<void> | undefined;
  try {
    await mkdir(own, { recursive: true, mode: 0o700 });
    const checkoutIndex = join(own, INDEX);
    const record = await readRecord(own);
    const earlier = record !== null && (await isRepository(dest)) && (await exists(checkoutIndex));
    if (!earlier) {
      await rm(checkoutIndex, { force: true });
      await emptyDirectory(dest);
    }
    await makeRepository(dest, snapshot);
    // Listed while the files are written.
    refs = mirrorRefs(dest, snapshot);
    refs.catch(() => undefined);
    await writeRecord(own, { snapshot, restored: false });
    const env = { GIT_INDEX_FILE: checkoutIndex };
    const sameStaged = earlier && record.snapshot.staged === snapshot.staged && (await exists(keptIndexOf(own, snapshot)));
    // Not `git checkout`: that would run hooks. From a restored checkout with the same gitlinks (a
    // submodule that goes leaves its files behind), only what differs between its tree and this one is
    // written: by writeChanges when the workspace's index is the one kept (nothing else needs the checkout
    // index brought up to date now), else by a two-tree merge, which refuses (and the general way below
    // is taken) if a file is not as the index has it.
    const merged =
      earlier &&
      record.restored &&
      samePaths(record.snapshot.submodules, snapshot.submodules) &&
      ((sameStaged && (await writeChanges(dest, own, record.snapshot.tree, snapshot.tree).catch(() => false))) ||
        (await git(dest, ["read-tree", "-m", "-u", record.snapshot.tree, snapshot.tree], { env }).then(
          () => true,
          () => false,
        )));
    if (!merged) {
      // Files whose stat data matches the index are not written again; --reset overwrites the rest,
      // whatever a step did to them, and what a step added goes.
      await git(dest, ["read-tree", "--reset", "-u", snapshot.tree], { env: withConfig(env, RESET_CONFIG) });
      if (earlier) await git(dest, ["clean", "-ffdxq"], { env });
    }
    await writeIndex(snapshot, dest, own, merged && sameStaged);
    await refs;
    await eachSubmodule(snapshot, dest, state, async (dir, inner, innerState) => {
      if (inner === null) await emptyDirectory(dir);
      else await materialize(inner, dir, { state: innerState });
    });
    if (state !== undefined) await removeUnused(snapshot, state);
  } catch (error) {
    if (error instanceof WorkspaceError) throw error;
    throw new WorkspaceError(`cannot check out ${snapshot.tree} of ${snapshot.repo} into ${dest}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    // Never left writing into a workspace that a failure removes.
    await refs?.catch(() => undefined);
    if (temp !== undefined) await rm(temp, { recursive: true, force: true });
  }
}

// Writes the workspace's index: what the person had staged. A two-way merge of files leaves the staged
// index of the checkout before correct but for the stat data of the files it wrote, which `git status`
// sees differ and hashes again; so when the staged tree is the one before, that index is taken as it
// was (kept in `state`), instead of merging 20,000 entries again for a large tree.
async function writeIndex(snapshot: GitSnapshot, dest: string, state: string, sameStaged: boolean): Promise<void> {
  const index = join(dest, ".git", "index");
  const kept = keptIndexOf(state, snapshot);
  if (sameStaged) return copyWithTimes(kept, index);
  await copyFile(join(state, INDEX), index);
  // The index becomes what is staged; files the same in both keep their stat data, so `git status` does
  // not hash them again.
  if (snapshot.staged !== snapshot.tree) await git(dest, ["read-tree", "-m", snapshot.staged]);
  for (const name of await readdir(state)) if (name.startsWith(`${STAGED_INDEX}-`)) await rm(join(state, name), { force: true });
  // Named by its tree and renamed into place whole: a copy cut short by a crash is never taken.
  await copyWithTimes(index, `${kept}.new`);
  await rename(`${kept}.new`, kept);
}

function keptIndexOf(state: string, snapshot: GitSnapshot): string {
  return join(state, `${STAGED_INDEX}-${snapshot.staged}`);
}

// A copy of an index with its modification time: git trusts an entry's stat data only when the file's
// time is before the index's (else the entry is "racily clean" and its content is compared). A copy made
// now would vouch for a file the merge rewrote in the same second as the kept index was written, with
// the same size and a reused inode, as unchanged (seen under load).
async function copyWithTimes(from: string, to: string): Promise<void> {
  await copyFile(from, to);
  const { atime, mtime } = await stat(from);
  await utimes(to, atime, mtime);
}

// Calls `fn` for each gitlink of the snapshot with its directory in `dest`, its snapshot (null for one
// not checked out) and its state directory under `state`.
async function eachSubmodule(
  snapshot: GitSnapshot,
  dest: string,
  state: string | undefined,
  fn: (dir: string, inner: GitSnapshot | null, state: string | undefined) => Promise<void>,
): Promise<void> {
  const root = await realpath(dest);
  for (const { path, snapshot: inner } of snapshot.submodules) {
    const dir = join(root, ...path.split("/"));
    // read-tree made every directory on the way; a submodule is only ever written inside the workspace.
    if ((await realpath(dir)) !== dir)
      throw new WorkspaceError(
        `the submodule directory ${path} in ${dest} leads outside the workspace; remove the workspace and run again`,
      );
    await fn(dir, inner, state === undefined ? undefined : join(state, "modules", moduleName(path)));
  }
}

// Submodules an earlier checkout had and this one does not: their state goes too.
async function removeUnused(snapshot: GitSnapshot, state: string): Promise<void> {
  const used = new Set(snapshot.submodules.filter((s) => s.snapshot !== null).map((s) => moduleName(s.path)));
  const modules = join(state, "modules");
  for (const name of await readdir(modules).catch(() => [])) {
    if (!used.has(name)) await rm(join(modules, name), { recursive: true, force: true });
  }
}

function samePaths(a: readonly Submodule[], b: readonly Submodule[]): boolean {
  return a.length === b.length && a.every((s, i) => s.path === b[i]!.path);
}

function moduleName(path: string): string {
  return createHash("sha256").update(path).digest("hex").slice(0, 16);
}

async function readRecord(state: string): Promise<CheckoutRecord | null> {
  try {
    const record = JSON.parse(await readFile(join(state, RECORD), "utf8")) as CheckoutRecord;
    return record?.snapshot?.kind === "git" && typeof record.snapshot.tree === "string" ? record : null;
  } catch {
    return null;
  }
}

async function writeRecord(state: string, record: CheckoutRecord): Promise<void> {
  await writeFile(join(state, RECORD), `${JSON.stringify(record)}\n`);
}

async function isRepository(dir: string): Promise<boolean> {
  return (await lstat(join(dir, ".git")).catch(() => undefined))?.isDirectory() ?? false;
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}

async function emptyDirectory(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await removeTree(join(dir, name));
}

async function copyDirectory(source: string, dest: string, skip: string[]): Promise<void> {
  let from: string;
  try {
    from = await realpath(source);
  } catch (error) {
    throw new WorkspaceError(`cannot read ${source}: ${(error as Error).message}`, { cause: error });
  }
  // Real paths, so a workspace root inside the copied directory is recognised whatever path named it.
  const left = new Set([await realpath(dest)]);
  for (const path of skip) left.add(await realpath(path).catch(() => resolve(path)));
  try {
    await copyInto(from, dest, left);
  } catch (error) {
    throw new WorkspaceError(`cannot copy ${from} into ${dest}: ${(error as Error).message}`, { cause: error });
  }
}

async function copyInto(from: string, to: string, skip: Set<string>): Promise<void> {
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (skip.has(source)) continue;
    if (entry.isDirectory()) {
      await mkdir(target);
      await copyInto(source, target, skip);
    } else if (entry.isFile()) {
      await copyFile(source, target); // keeps the mode, so executable bits survive
    } else if (entry.isSymbolicLink()) {
      await symlink(await readlink(source), target);
    }
    // Sockets, FIFOs and devices: nothing a build reads as a file (opening a FIFO would block the copy).
  }
}
