// One directory per run under quire's work root. A run's workspace goes when the run ends, except for the
// last few failed runs, kept so their files can be looked at.
import { chmod, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { materialize } from "./checkout.js";
import { WorkspaceError } from "./errors.js";
import type { Snapshot } from "./snapshot.js";

// A kept failed workspace `<root>/<id>` has a marker `<root>/<id>.failed` beside it (not inside: the
// workspace stays exactly as the run left it) holding its place in the order runs failed, so the oldest
// failure goes first, also across daemon restarts.
const MARKER = /^(\d+)\.failed$/;

export class Workspaces {
  readonly root: string;
  readonly keepFailed: number;
  #skip: string[];
  // Releases one at a time: each reads the markers the previous one wrote.
  #releases: Promise<unknown> = Promise.resolve();

  /**
   * `root` is QUIRE_HOME/work. `skip` lists directories a plain-directory copy leaves out (quire's home);
   * the root itself is always left out.
   */
  constructor(root: string, keepFailed = 3, skip: string[] = []) {
    if (!Number.isSafeInteger(keepFailed) || keepFailed < 0) throw new WorkspaceError(`keepFailed must be a whole number >= 0, not ${keepFailed}`);
    this.root = resolve(root);
    this.keepFailed = keepFailed;
    this.#skip = [this.root, ...skip];
  }

  path(runId: number): string {
    if (!Number.isSafeInteger(runId) || runId < 0) throw new WorkspaceError(`run id must be a whole number >= 0, not ${runId}`);
    return join(this.root, String(runId));
  }

  /** Makes the run's workspace from the snapshot, replacing whatever an earlier attempt left; returns its path. */
  async create(runId: number, snapshot: Snapshot): Promise<string> {
    const dir = this.path(runId);
    try {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
    } catch (error) {
      throw new WorkspaceError(`cannot create the work root ${this.root}: ${(error as Error).message}`, { cause: error });
    }
    await this.#remove(runId);
    try {
      await materialize(snapshot, dir, { skip: this.#skip });
    } catch (error) {
      await removeTree(dir).catch(() => undefined);
      throw error;
    }
    return dir;
  }

  /** Removes a finished run's workspace, or keeps it if the run failed (then only the last keepFailed stay). */
  release(runId: number, failed: boolean): Promise<void> {
    const done = this.#releases.then(() => (failed ? this.#keep(runId) : this.#remove(runId)));
    this.#releases = done.catch(() => undefined);
    return done;
  }

  async #keep(runId: number): Promise<void> {
    const kept = (await this.#failed()).filter((k) => k.runId !== runId);
    const order = kept.reduce((last, k) => Math.max(last, k.order), 0) + 1;
    const dir = this.path(runId);
    try {
      await writeFile(`${dir}.failed`, `${order}\n`);
    } catch (error) {
      throw new WorkspaceError(`cannot mark ${dir} as failed: ${(error as Error).message}`, { cause: error });
    }
    kept.push({ runId, order });
    kept.sort((a, b) => b.order - a.order);
    for (const { runId: old } of kept.slice(this.keepFailed)) await this.#remove(old);
  }

  async #remove(runId: number): Promise<void> {
    const dir = this.path(runId);
    try {
      await removeTree(dir);
      await rm(`${dir}.failed`, { force: true });
    } catch (error) {
      throw new WorkspaceError(`cannot remove the workspace ${dir}: ${(error as Error).message}`, { cause: error });
    }
  }

  async #failed(): Promise<{ runId: number; order: number }[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw new WorkspaceError(`cannot list ${this.root}: ${(error as Error).message}`, { cause: error });
    }
    const kept = [];
    for (const name of names) {
      const match = MARKER.exec(name);
      if (!match) continue;
      const order = Number.parseInt(await readFile(join(this.root, name), "utf8").catch(() => "0"), 10);
      kept.push({ runId: Number(match[1]), order: Number.isSafeInteger(order) ? order : 0 });
    }
    return kept;
  }
}

// rm -r, also through directories a step made read-only (Go's module cache does): their entries can only be
// removed once the directory is writable again.
export async function removeTree(dir: string): Promise<void> {
  try {
    await rm(dir, { recursive: true, force: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EACCES" && code !== "EPERM") throw error;
    await makeWritable(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) await makeWritable(join(dir, entry.name));
  }
}
