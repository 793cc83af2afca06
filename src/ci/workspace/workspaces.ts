// One directory per run under quire's work root: `<root>/<id>/checkout` is the run's workspace, and
// `<root>/<id>/` around it holds what quire keeps about it, out of the steps' way: `workspace.json` (where
// it came from, the refs that keep its trees) and what the checkout keeps between runs (checkout.ts). A
// workspace is made aside (`stage`) and renamed into place once its run is recorded, so a crash never
// leaves a half-made one under a run. When a run ends its workspace goes, except for the last few failed
// runs, kept so their files can be looked at. A git workspace that goes is restored to its tree instead
// and becomes its working copy's spare (one per working copy, keeping its refs): the next run of that
// working copy takes it and writes only the files that changed; what the caches put back into it is kept
// aside in its directory, for that run to take if it puts back the same (kept-outputs.ts).
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { materialize, restoreCheckout } from "./checkout.js";
import { WorkspaceError } from "./errors.js";
import { KeptOutputs } from "./kept-outputs.js";
import type { KeptRefs, ObjectStores } from "./object-stores.js";
import { removeTree } from "./remove-tree.js";
import type { GitSnapshot, Snapshot } from "./snapshot.js";

// A kept failed workspace `<root>/<id>` has a marker `<root>/<id>.failed` beside it holding its place in
// the order runs failed, so the oldest failure goes first, also across daemon restarts.
const MARKER = /^(\d+)\.failed$/;
const RUN = /^\d+$/;
const STAGING_PREFIX = ".staging-";
const SPARE_PREFIX = ".spare-";
const TRASH_PREFIX = ".trash-";
const CHECKOUT = "checkout";
const RECORD = "workspace.json";

/** What `<root>/<id>/workspace.json` says. */
interface WorkspaceRecord {
  /** The git work tree the workspace was checked out from; null for a copied directory. */
  source: string | null;
  /** The refs that keep its trees in quire's object stores. */
  kept: KeptRefs[];
}

/** A workspace made aside, waiting for its run. */
export interface StagedWorkspace {
  /** The checkout's root (the source's root, as the run will see it) while it waits. */
  readonly root: string;
  /** Moves the workspace to run `runId`'s. */
  place(runId: number): void;
  /** No run was recorded for it: it goes (in the background; a git checkout becomes its source's spare). */
  discard(): void;
}

export interface WorkspacesOptions {
  /** Failed runs whose workspaces are kept for inspection (default 3). */
  keepFailed?: number;
  /** Directories a plain-directory copy leaves out (quire's home); the root itself is always left out. */
  skip?: string[];
  /** The stores that keep a git workspace's trees; their refs are let go when the workspace goes. */
  stores?: ObjectStores;
  /** Spares kept, one per working copy, the most recently used (default 8). */
  keepSpares?: number;
}

/** A spare over the bound, or of a working copy that is not there any more. */
export interface SpareOver {
  dir: string;
  /** The working copy it was made of. */
  source: string | null;
  reason: "count" | "gone";
}

export class Workspaces {
  readonly root: string;
  readonly keepFailed: number;
  readonly keepSpares: number;
  readonly #skip: string[];
  readonly #stores: ObjectStores | undefined;
  // Releases (and letting go of a taken spare's refs) one at a time: each reads the markers the previous
  // one wrote.
  #releases: Promise<unknown> = Promise.resolve();
  /** The working copy of each placed run's workspace, until it is released. */
  readonly #sources = new Map<number, string>();
  /**
   * The last release asked for of a workspace of each working copy, while it runs: a stage of that working
   * copy waits for it, since it is about to become the spare the stage would take (restoring a large tree
   * takes a moment; checking it out afresh instead would take seconds).
   */
  readonly #releasing = new Map<string, Promise<void>>();

  /** `root` is QUIRE_HOME/work. */
  constructor(root: string, options: WorkspacesOptions = {}) {
    const keepFailed = options.keepFailed ?? 3;
    if (!Number.isSafeInteger(keepFailed) || keepFailed < 0)
      throw new WorkspaceError(`keepFailed must be a whole number >= 0, not ${keepFailed}`);
    this.root = resolve(root);
    this.keepFailed = keepFailed;
    const keepSpares = options.keepSpares ?? 8;
    if (!Number.isSafeInteger(keepSpares) || keepSpares < 0)
      throw new WorkspaceError(`keepSpares must be a whole number >= 0, not ${keepSpares}`);
    this.keepSpares = keepSpares;
    this.#skip = [this.root, ...(options.skip ?? [])];
    this.#stores = options.stores;
  }

  /** Run `runId`'s workspace: where its steps run. */
  path(runId: number): string {
    return join(this.#runDir(runId), CHECKOUT);
  }

  /** What run `runId`'s workspace keeps of what the caches put back into it (kept-outputs.ts). */
  keptOutputs(runId: number): KeptOutputs {
    return new KeptOutputs(this.path(runId), this.#runDir(runId));
  }

  /**
   * Makes a workspace of the snapshot aside: from the spare of the same working copy if there is one (only
   * what differs is written), else afresh.
   */
  async stage(snapshot: Snapshot): Promise<StagedWorkspace> {
    const dir = join(this.root, `${STAGING_PREFIX}${unique()}`);
    const record: WorkspaceRecord = {
      source: snapshot.kind === "git" ? snapshot.repo : null,
      kept: snapshot.kind === "git" ? keptBy(snapshot) : [],
    };
    let spare: WorkspaceRecord | null = null;
    try {
      try {
        await mkdir(this.root, { recursive: true, mode: 0o700 });
      } catch (error) {
        throw new WorkspaceError(`cannot create the work root ${this.root}: ${(error as Error).message}`, { cause: error });
      }
      if (record.source !== null) await this.#releasing.get(record.source);
      spare = record.source === null ? null : await this.#takeSpare(record.source, dir);
      try {
        await this.#make(dir, record, snapshot, spare !== null);
      } catch (error) {
        if (spare === null) throw error;
        // Whatever went wrong with the spare (a step made a directory read-only, say), a fresh one will do.
        await removeTree(dir);
        await this.#make(dir, record, snapshot, false);
      }
    } catch (error) {
      await this.#forget(record);
      await removeTree(dir).catch(() => undefined);
      throw error;
    } finally {
      // The spare's trees are not needed any more; letting go of them may prune, which can wait.
      const old = spare;
      if (old !== null) void this.#later(() => this.#forget(old)).catch(() => undefined);
    }
    return {
      root: join(dir, CHECKOUT),
      place: (runId) => {
        renameSync(dir, this.#runDir(runId));
        if (record.source !== null) this.#sources.set(runId, record.source);
      },
      discard: () => void this.#releaseOf(record.source, (ready) => this.#let(dir, record, false, ready)).catch(() => undefined),
    };
  }

  /** Makes the run's workspace from the snapshot, replacing whatever an earlier attempt left; returns its path. */
  async create(runId: number, snapshot: Snapshot): Promise<string> {
    await this.#remove(runId);
    const staged = await this.stage(snapshot);
    staged.place(runId);
    return this.path(runId);
  }

  /** A finished run's workspace goes, or is kept if the run failed (then only the last keepFailed stay). */
  release(runId: number, failed: boolean): Promise<void> {
    const source = this.#sources.get(runId) ?? null;
    this.#sources.delete(runId);
    return this.#releaseOf(source, (ready) => (failed ? this.#keep(runId) : this.#letRun(runId, false, ready)));
  }

  /** Removes what a daemon that stopped while staging or releasing left behind. */
  removeHalfMade(): void {
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.root)) {
      if (name.startsWith(STAGING_PREFIX) || name.startsWith(TRASH_PREFIX)) rmSync(join(this.root, name), { recursive: true, force: true });
    }
  }

  /** The names of the refs the runs' workspaces and the spares keep (for `ObjectStores.sweep`). */
  keptNames(): Set<string> {
    const names = new Set<string>();
    for (const name of readdirSync(this.root)) {
      if (!RUN.test(name) && !name.startsWith(SPARE_PREFIX)) continue;
      for (const kept of readRecordSync(join(this.root, name))?.kept ?? []) names.add(kept.name);
    }
    return names;
  }

  /** The workspaces kept after a failure, with when each was kept: what retention chooses from. */
  async keptFailed(): Promise<{ runId: number; dir: string; keptAt: number }[]> {
    const kept = [];
    for (const { runId } of await this.#failed()) {
      const marker = await stat(`${this.#runDir(runId)}.failed`).catch(() => undefined);
      if (marker) kept.push({ runId, dir: this.#runDir(runId), keptAt: marker.mtimeMs });
    }
    return kept;
  }

  /** The spares over the bound (the least recently used beyond `keepSpares`) and those of working copies that are gone. */
  sparesOver(): Promise<SpareOver[]> {
    let over: SpareOver[] = [];
    return this.#later(async () => {
      over = await this.#sparesOver();
    }).then(() => over);
  }

  /** Removes these spares with the refs they keep (one taken by a run meanwhile is not there any more). */
  dropSpares(spares: readonly SpareOver[]): Promise<void> {
    return this.#later(async () => {
      for (const spare of spares) await this.#drop(spare.dir, await readRecord(spare.dir));
    });
  }

  /** Removes run `runId`'s workspace, kept or not (nothing when it has none), after the releases asked for before. */
  discard(runId: number): Promise<void> {
    this.#sources.delete(runId);
    return this.#later(() => this.#remove(runId));
  }

  // `#later`, for a workspace of `source` (null: not a working copy's, or not known): a stage of that
  // working copy waits for it, until `fn` calls `ready` (its spare is in place: what it does after, such
  // as removing the spares over the bound, a 20,000-file tree taking a second, need not be waited for).
  #releaseOf(source: string | null, fn: (ready: () => void) => Promise<void>): Promise<void> {
    let ready = () => {};
    const spareReady = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const done = this.#later(() => fn(ready));
    if (source === null) return done;
    const settled = Promise.race([spareReady, done.catch(() => undefined)]);
    this.#releasing.set(source, settled);
    void settled.then(() => {
      if (this.#releasing.get(source) === settled) this.#releasing.delete(source);
    });
    return done;
  }

  // Runs `fn` after every release (and letting go) asked for before it.
  #later(fn: () => Promise<void>): Promise<void> {
    const done = this.#releases.then(fn);
    this.#releases = done.catch(() => undefined);
    return done;
  }

  #runDir(runId: number): string {
    if (!Number.isSafeInteger(runId) || runId < 0) throw new WorkspaceError(`run id must be a whole number >= 0, not ${runId}`);
    return join(this.root, String(runId));
  }

  #spareDir(source: string): string {
    return join(this.root, `${SPARE_PREFIX}${createHash("sha256").update(source).digest("hex").slice(0, 16)}`);
  }

  async #make(dir: string, record: WorkspaceRecord, snapshot: Snapshot, spare: boolean): Promise<void> {
    try {
      if (!spare) await mkdir(dir, { mode: 0o700 });
      await writeFile(join(dir, RECORD), `${JSON.stringify(record)}\n`);
    } catch (error) {
      throw new WorkspaceError(`cannot create the workspace ${dir}: ${(error as Error).message}`, { cause: error });
    }
    await materialize(snapshot, join(dir, CHECKOUT), { skip: this.#skip, state: dir });
  }

  // Moves the source's spare to `dir` and returns its record; null when there is none (or another stage
  // took it first).
  async #takeSpare(source: string, dir: string): Promise<WorkspaceRecord | null> {
    try {
      await rename(this.#spareDir(source), dir);
    } catch {
      return null;
    }
    const record = await readRecord(dir);
    if (record?.source === source) return record;
    await this.#drop(dir, record);
    return null;
  }

  async #keep(runId: number): Promise<void> {
    const kept = (await this.#failed()).filter((k) => k.runId !== runId);
    const order = kept.reduce((last, k) => Math.max(last, k.order), 0) + 1;
    const dir = this.#runDir(runId);
    try {
      await writeFile(`${dir}.failed`, `${order}\n`);
    } catch (error) {
      throw new WorkspaceError(`cannot mark ${dir} as failed: ${(error as Error).message}`, { cause: error });
    }
    kept.push({ runId, order });
    kept.sort((a, b) => b.order - a.order);
    // The oldest failures go; one becomes its source's spare only if that has none (a newer run's is closer).
    for (const { runId: old } of kept.slice(this.keepFailed)) await this.#letRun(old, true);
  }

  async #letRun(runId: number, unlessSpare: boolean, ready?: () => void): Promise<void> {
    const dir = this.#runDir(runId);
    await this.#let(dir, await readRecord(dir), unlessSpare, ready);
    await rm(`${dir}.failed`, { force: true });
  }

  async #remove(runId: number): Promise<void> {
    const dir = this.#runDir(runId);
    await this.#drop(dir, await readRecord(dir));
    await rm(`${dir}.failed`, { force: true });
  }

  // A workspace that no run needs any more becomes its source's spare, restored to its tree (replacing an
  // older spare, or only if there is none when `unlessSpare`; `ready` is called once it is in place), or
  // goes with its refs.
  async #let(dir: string, record: WorkspaceRecord | null, unlessSpare: boolean, ready?: () => void): Promise<void> {
    const source = record?.source;
    const spare = source == null ? undefined : this.#spareDir(source);
    if (spare === undefined || (unlessSpare && (await exists(spare)))) return this.#drop(dir, record);
    const trash = join(this.root, `${TRASH_PREFIX}${unique()}`);
    try {
      await new KeptOutputs(join(dir, CHECKOUT), dir).park();
      await restoreCheckout(join(dir, CHECKOUT), dir);
      await rename(spare, trash).catch(() => undefined);
      await rename(dir, spare);
      // When it became a spare: the least recently used go first.
      const now = new Date();
      await utimes(spare, now, now);
    } catch {
      return this.#drop(dir, record);
    }
    ready?.();
    await this.#drop(trash, await readRecord(trash));
    for (const old of await this.#sparesOver()) await this.#drop(old.dir, await readRecord(old.dir));
  }

  async #sparesOver(): Promise<SpareOver[]> {
    const spares = [];
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      if (!name.startsWith(SPARE_PREFIX)) continue;
      const dir = join(this.root, name);
      const made = await stat(dir).catch(() => undefined);
      if (made) spares.push({ dir, at: made.mtimeMs, source: (await readRecord(dir))?.source ?? null });
    }
    spares.sort((a, b) => b.at - a.at || (a.dir < b.dir ? -1 : 1));
    const over: SpareOver[] = [];
    let kept = 0;
    for (const spare of spares) {
      if (spare.source === null || !(await exists(spare.source))) over.push({ dir: spare.dir, source: spare.source, reason: "gone" });
      else if (kept >= this.keepSpares) over.push({ dir: spare.dir, source: spare.source, reason: "count" });
      else kept++;
    }
    return over;
  }

  async #drop(dir: string, record: WorkspaceRecord | null): Promise<void> {
    await this.#forget(record);
    await this.#removeOrFail(dir);
  }

  async #forget(record: WorkspaceRecord | null): Promise<void> {
    // A ref that could not be deleted is deleted by the next daemon's sweep.
    if (record && record.kept.length > 0) await this.#stores?.forget(record.kept).catch(() => undefined);
  }

  async #removeOrFail(dir: string): Promise<void> {
    try {
      await removeTree(dir);
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

// The refs a snapshot and its submodules' snapshots keep.
function keptBy(snapshot: GitSnapshot): KeptRefs[] {
  return [{ store: snapshot.store, name: snapshot.kept }, ...snapshot.submodules.flatMap((s) => (s.snapshot ? keptBy(s.snapshot) : []))];
}

async function readRecord(dir: string): Promise<WorkspaceRecord | null> {
  return parseRecord(await readFile(join(dir, RECORD), "utf8").catch(() => ""));
}

function readRecordSync(dir: string): WorkspaceRecord | null {
  try {
    return parseRecord(readFileSync(join(dir, RECORD), "utf8"));
  } catch {
    return null;
  }
}

// A record quire wrote; anything else (a workspace made before records, a damaged file) reads as none.
function parseRecord(text: string): WorkspaceRecord | null {
  try {
    const value = JSON.parse(text) as WorkspaceRecord;
    return typeof value === "object" && value !== null && Array.isArray(value.kept) ? value : null;
  } catch {
    return null;
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

function unique(): string {
  return `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
}
