// Writes a snapshot into a workspace directory: a git tree through a temporary index, a plain directory by
// copying it.
import { copyFile, mkdir, mkdtemp, readdir, readlink, realpath, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { WorkspaceError } from "./errors.js";
import { git } from "./git.js";
import type { Snapshot } from "./snapshot.js";

export interface MaterializeOptions {
  /** Directories a plain-directory copy leaves out (quire's home, if it lies inside the copied directory). */
  skip?: string[];
}

/**
 * Writes the snapshot's files into `dest` (created; expected empty). A git tree gets what `git checkout`
 * would write: modes, symlinks, smudge filters and line endings as configured; submodules (and nested
 * repositories recorded as gitlinks) become empty directories, as in a clone without
 * `--recurse-submodules`. A plain directory is copied with modes and symlinks (not followed); sockets,
 * FIFOs and devices are left out, and so are `dest` and the `skip` directories if they lie inside it.
 */
export async function materialize(snapshot: Snapshot, dest: string, options: MaterializeOptions = {}): Promise<void> {
  const target = resolve(dest);
  try {
    await mkdir(target, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new WorkspaceError(`cannot create the workspace ${target}: ${(error as Error).message}`, { cause: error });
  }
  if (snapshot.kind === "git") await checkoutTree(snapshot.repo, snapshot.tree, target);
  else await copyDirectory(snapshot.dir, target, options.skip ?? []);
}

async function checkoutTree(repo: string, tree: string, dest: string): Promise<void> {
  const temp = await mkdtemp(join(tmpdir(), "quire-checkout-"));
  try {
    const env = { GIT_INDEX_FILE: join(temp, "index") };
    // Not `git checkout`: that would run the repository's post-checkout hook.
    await git(repo, ["read-tree", tree], { env });
    await git(repo, ["-c", "core.sparseCheckout=false", `--work-tree=${dest}`, "checkout-index", "-a", "-f"], { env });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
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
