// What quire's caches put back into a workspace (a job's `outputs:` from the job cache, a `cache:` entry)
// or saved from it, kept beside the workspace when its run ends, so that the next run of the same working
// copy putting back the same entry takes it instead of copying it again (787 files of node_modules:
// 250-300 ms to copy here, 15-30 ms to check). Each put-back into a place where nothing was, and each
// path saved as an entry, is recorded with the stat data of every file and directory that is the entry's
// (`<state>/put-back/<key>.json`); when the run's workspace is restored to its tree, each recorded path
// still there is moved aside whole (`<state>/parked/<key>/`: the tree and its record), out of the next
// run's sight. Taking it back, whatever a step did to it is undone first: a file or directory whose stat
// data differs from the record (or that was changed in the same clock tick as the record was written,
// which its times cannot tell: git's "racily clean" rule) is copied from the entry again, what a step
// added goes, what it removed comes back. The entry itself is never written to.
import { createHash, randomBytes } from "node:crypto";
import { type BigIntStats, lstatSync, readdirSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, realpath, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { setImmediate, setTimeout as sleep } from "node:timers/promises";
import { copyTree } from "../cache/tree-copy.js";
import { removeTree } from "./remove-tree.js";

/** Parked copies a workspace keeps at most: the most recently recorded ones. */
const MAX_PARKED = 4;
const PUT_BACK = "put-back";
const PARKED = "parked";
const TREE = "tree";
const MANIFEST = "manifest.json";
/** Files stat'ed between two turns of the event loop while a tree is walked. */
const WALK_SLICE = 256;
/** Writes of a record waiting for the clock to move on (`#write`): 2 ms apart, beyond any clock tick. */
const WRITE_TRIES = 16;

/** What an entry's restore and save ask of the workspace they copy into or from (EntryStore). */
export interface OutputsKeeper {
  /**
   * Puts `source` (an entry's copy of a path) at `target` by taking the workspace's parked copy of it, if
   * it has one of this `entry` and nothing is at `target`: true when done, with `target` exactly `source`.
   */
  take(entry: string, source: string, target: string): Promise<boolean>;
  /**
   * Puts `source` at `target` where nothing is, recorded, to be parked when the run ends: true when done;
   * false when it could not, with nothing put at `target`.
   */
  putBack(entry: string, source: string, target: string): Promise<boolean>;
  /** What is at `target` just before it is saved as an entry (for `saved`); undefined when it cannot be kept. */
  survey(target: string): Promise<Survey | undefined>;
  /**
   * `target` has just been saved as `saved` (the entry's copy of it) and was `before` then: recorded, but
   * for what changed while it was copied, to be parked when the run ends.
   */
  saved(entry: string, saved: string, target: string, before: Survey): Promise<void>;
}

/** The stat data of a path and what is under it, from before a save. */
export interface Survey {
  files: Record<string, Recorded>;
  /** The file system's time as the survey began: what changed in that tick or later may have changed during it. */
  since: bigint;
}

// A file, directory or symlink as recorded: its kind and the stat data that changes with any write.
type Recorded = { kind: Kind; ino: string; size: string; mtime: string; ctime: string; mode: number } | { kind: "missing" };
type Kind = "file" | "directory" | "link";

interface Manifest {
  /** The entries it is a copy of (EntryStore's names for them, with when each was made). */
  entries: string[];
  /** Relative to the workspace's root, with `/`. */
  path: string;
  /** By path relative to `path` ("" for `path` itself), parents before their children. */
  files: Record<string, Recorded>;
}

/** The outputs put back into one run's workspace `root`, recorded in `state` (the run's directory, beside it). */
export class KeptOutputs implements OutputsKeeper {
  readonly #root: string;
  readonly #state: string;

  constructor(root: string, state: string) {
    this.#root = root;
    this.#state = state;
  }

  async take(entry: string, source: string, target: string): Promise<boolean> {
    const path = await this.#inside(target);
    if (path === undefined || (await lstat(target).catch(() => undefined))) return false;
    const parked = join(this.#state, PARKED, keyOf(path));
    const manifest = await readManifest(join(parked, MANIFEST));
    if (!manifest?.manifest.entries.includes(entry) || manifest.manifest.path !== path) return false;
    try {
      const tree = join(parked, TREE);
      const files = await undoChanges(tree, source, manifest.manifest.files, manifest.writtenNs);
      if (files === undefined) return false;
      await rename(tree, target);
      await this.#write({ entries: [entry], path, files });
      return true;
    } catch {
      // Whatever stopped it (a step left a directory unreadable, say), a copy will do; `target` is either
      // absent or exactly `source`, and a copy over it is `source` as well.
      return false;
    } finally {
      await removeTree(parked).catch(() => undefined);
    }
  }

  // Copied aside, out of every step's sight, recorded there and renamed into place: a step of another job
  // of the run writing into the path meanwhile writes after the record, which tells (copied into place and
  // recorded there, what it wrote between the two was recorded as the entry's). Keeping is only ever a
  // saving: what cannot be recorded is copied again, and no restore or save fails for it.
  async putBack(entry: string, source: string, target: string): Promise<boolean> {
    if (await lstat(target).catch(() => undefined)) return false;
    // The directories it goes in are made, as a copy into place would make them.
    await mkdir(dirname(target), { recursive: true }).catch(() => undefined);
    const path = await this.#inside(target);
    if (path === undefined) return false;
    // Without a manifest, what a crash leaves of it goes with the next park (#dropOldest).
    const aside = join(this.#state, PARKED, `${keyOf(path)}-${randomBytes(6).toString("hex")}`);
    const record = join(this.#state, PUT_BACK, `${keyOf(path)}.json`);
    try {
      const tree = join(aside, TREE);
      await copyTree(source, tree, { fsync: false });
      const files = noFiles();
      await recordTree(source, tree, "", files);
      await this.#write({ entries: [entry], path, files });
      return await rename(tree, target).then(
        () => true,
        // Something is there now (another job put it there): the caller copies over it, unrecorded.
        () => rm(record, { force: true }).then(() => false),
      );
    } catch {
      return false;
    } finally {
      await removeTree(aside).catch(() => undefined);
    }
  }

  async survey(target: string): Promise<Survey | undefined> {
    if ((await this.#inside(target)) === undefined) return undefined;
    await mkdir(this.#state, { recursive: true, mode: 0o700 });
    const probe = join(this.#state, `survey-${process.pid}-${Math.random().toString(36).slice(2)}`);
    await writeFile(probe, "");
    const since = (await lstat(probe, { bigint: true })).mtimeNs;
    await rm(probe, { force: true });
    const files = noFiles();
    try {
      await recordTree(target, target, "", files);
    } catch {
      return undefined; // not there (nothing to save), or changing under the walk
    }
    return { files, since };
  }

  async saved(entry: string, saved: string, target: string, before: Survey): Promise<void> {
    const path = await this.#inside(target);
    if (path === undefined) return;
    const files = noFiles();
    try {
      await recordTree(saved, target, "", files);
    } catch {
      return; // gone meanwhile: nothing to keep
    }
    for (const [name, now] of Object.entries(files)) {
      const then = before.files[name];
      // Changed while it was copied, or a file changed in the tick the survey began (which its times cannot
      // tell): the entry may hold another version of it. A directory is what is in it, which is checked
      // name by name when it is taken.
      const racy = (now.kind === "file" || now.kind === "link") && BigInt(now.ctime) >= before.since;
      if (then === undefined || !sameStats(then, now) || racy) files[name] = { kind: "missing" };
    }
    // Saved as another entry already in this run (a `cache:` and `outputs:` of the same path): the same
    // files, so a copy of both, if nothing changed between the two saves.
    const earlier = (await readManifest(join(this.#state, PUT_BACK, `${keyOf(path)}.json`)))?.manifest;
    const both = earlier?.path === path && sameFiles(earlier.files, files);
    await this.#write({ entries: both ? [...earlier.entries, entry] : [entry], path, files }).catch(() => undefined);
  }

  /**
   * Moves each recorded path of the workspace aside, once nothing runs in it any more and before it is
   * restored to its tree; the oldest parked copies beyond MAX_PARKED go.
   */
  async park(): Promise<void> {
    const records = join(this.#state, PUT_BACK);
    for (const name of await readdir(records).catch(() => [] as string[])) {
      const record = join(records, name);
      const manifest = await readManifest(record);
      const target = manifest && join(this.#root, ...manifest.manifest.path.split("/"));
      // A step may have replaced a directory on the way with a link to elsewhere: nothing is moved from there.
      if (target && (await this.#inside(target)) === manifest.manifest.path && (await lstat(target).catch(() => undefined))) {
        const parked = join(this.#state, PARKED, keyOf(manifest.manifest.path));
        try {
          await removeTree(parked);
          await mkdir(parked, { recursive: true, mode: 0o700 });
          // A directory a step made read-only cannot move to another parent: it stays, to be cleaned away.
          await rename(target, join(parked, TREE));
          // Renamed, not written: its time is still after every time it records.
          await rename(record, join(parked, MANIFEST));
          continue;
        } catch {
          await removeTree(parked);
        }
      }
      await rm(record, { force: true });
    }
    await this.#dropOldest();
  }

  async #dropOldest(): Promise<void> {
    const dir = join(this.#state, PARKED);
    const parked = [];
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      const at = (await lstat(join(dir, name, MANIFEST)).catch(() => undefined))?.mtimeMs;
      // One without its manifest was cut short by a crash while it was parked: nothing can take it.
      if (at === undefined) await removeTree(join(dir, name));
      else parked.push({ name, at });
    }
    parked.sort((a, b) => b.at - a.at);
    for (const { name } of parked.slice(MAX_PARKED)) await removeTree(join(dir, name));
  }

  // Written aside and renamed into place: a record cut short is never read. Its own time is what tells a
  // later change from one it recorded (`unchanged`), so it is written again until the file system's clock,
  // which moves in ticks of a few ms and may be behind a time stat has shown, has passed every time it
  // records: else what was copied in the last tick would be taken for changed, and copied again.
  async #write(manifest: Manifest): Promise<void> {
    const dir = join(this.#state, PUT_BACK);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const file = join(dir, `${keyOf(manifest.path)}.json`);
    const newest = Object.values(manifest.files).reduce(
      (max, f) => (f.kind !== "missing" && BigInt(f.ctime) > max ? BigInt(f.ctime) : max),
      0n,
    );
    for (let tries = 1; ; tries++) {
      await writeFile(`${file}.new`, JSON.stringify(manifest));
      if ((await lstat(`${file}.new`, { bigint: true })).mtimeNs > newest || tries === WRITE_TRIES) break;
      await sleep(2);
    }
    await rename(`${file}.new`, file);
  }

  // `target` relative to the workspace's root with `/`, if the directory it is in is really inside the
  // root (no link on the way leads out); undefined otherwise.
  async #inside(target: string): Promise<string | undefined> {
    const path = relative(this.#root, target);
    if (path === "" || path.startsWith("..")) return undefined;
    try {
      const parent = await realpath(dirname(target));
      if (parent !== join(await realpath(this.#root), dirname(path))) return undefined;
    } catch {
      return undefined;
    }
    return path.split(sep).join("/");
  }
}

// Makes the parked `tree` exactly `source` again where it is not as `files` recorded it (trusted only
// when changed before `writtenNs`, the record's own time); gives what it then holds, as recorded, or
// undefined when the tree itself is not what was parked (it is removed then).
async function undoChanges(
  tree: string,
  source: string,
  files: Record<string, Recorded>,
  writtenNs: bigint,
): Promise<Record<string, Recorded> | undefined> {
  const kept = new Set<string>();
  // Stat'ed one by one without waiting (a promise per file costs more than the lstat: 10-20 ms for 800
  // files against 4), yielding now and then so that a large tree does not hold up everything else.
  const stack = [""];
  for (let walked = 1; stack.length > 0; walked++) {
    const path = stack.pop()!;
    const at = path === "" ? tree : join(tree, path);
    const stats = lstatSync(at, { bigint: true });
    if (!unchanged(files[path], stats, writtenNs)) {
      // removeTree makes directories writable on its way: never given a link, whose target it would change.
      await (stats.isDirectory() ? removeTree(at) : rm(at, { force: true }));
      continue;
    }
    kept.add(path);
    if (stats.isDirectory()) for (const name of readdirSync(at)) stack.push(path === "" ? name : `${path}/${name}`);
    if (walked % WALK_SLICE === 0) await setImmediate();
  }
  if (!kept.has("")) return undefined;
  const now = noFiles();
  for (const [path, recorded] of Object.entries(files)) {
    if (kept.has(path)) {
      now[path] = recorded;
      continue;
    }
    // Copied as a whole with a parent that was not kept.
    if (path.includes("/") && !kept.has(path.slice(0, path.lastIndexOf("/")))) continue;
    const from = join(source, path);
    const to = join(tree, path);
    await copyTree(from, to, { fsync: false });
    await recordTree(from, to, path, now);
  }
  return now;
}

function sameStats(a: Recorded, b: Recorded): boolean {
  if (a.kind === "missing" || b.kind === "missing" || a.kind !== b.kind) return false;
  if (a.ino !== b.ino || a.mode !== b.mode) return false;
  // A directory's times change with what is in it, which is compared on its own.
  return a.kind === "directory" || (a.size === b.size && a.mtime === b.mtime && a.ctime === b.ctime);
}

// Whether two records hold the same paths, each with the same stat data (or none trusted in either).
function sameFiles(a: Record<string, Recorded>, b: Record<string, Recorded>): boolean {
  const names = Object.keys(a);
  if (names.length !== Object.keys(b).length) return false;
  return names.every((name) => {
    const [x, y] = [a[name], b[name]];
    return x !== undefined && y !== undefined && (sameStats(x, y) || (x.kind === "missing" && y.kind === "missing"));
  });
}

// Whether `stats` are those recorded, and recorded from a file not changed in the tick the record was
// written in. A directory's own times change when it is renamed (parked and taken), which sameStats leaves
// out: what is in it is checked instead.
function unchanged(recorded: Recorded | undefined, stats: BigIntStats, writtenNs: bigint): boolean {
  const now = recordOf(stats);
  return recorded !== undefined && sameStats(recorded, now) && (now.kind === "directory" || stats.ctimeNs < writtenNs);
}

// Records `target` (copied from `source`, or `source` copied from it) and what is under it, as `source`
// lists it, into `files` under `path`; what is not of the same kind, mode and size in both is missing.
async function recordTree(source: string, target: string, path: string, files: Record<string, Recorded>): Promise<void> {
  // Depth first, each directory before what is in it; stat'ed without waiting, as undoChanges does.
  const stack = [{ source, target, path }];
  for (let walked = 1; stack.length > 0; walked++) {
    const at = stack.pop()!;
    const from = lstatSync(at.source, { bigint: true });
    const kind = kindOf(from);
    if (kind === undefined) continue; // sockets and the like are never copied
    const stats = lstatOrNone(at.target);
    // A file with another name (a hard link: a package manager's store, a file elsewhere) is not the entry's
    // copy of its own, and may be written through that name after it is taken: never trusted.
    const same =
      stats !== undefined &&
      kindOf(stats) === kind &&
      stats.mode === from.mode &&
      (kind === "directory" || (stats.size === from.size && stats.nlink === 1n));
    files[at.path] = same ? recordOf(stats) : { kind: "missing" };
    if (kind === "directory") {
      for (const name of readdirSync(at.source))
        stack.push({ source: join(at.source, name), target: join(at.target, name), path: at.path === "" ? name : `${at.path}/${name}` });
    }
    if (walked % WALK_SLICE === 0) await setImmediate();
  }
}

function lstatOrNone(path: string): BigIntStats | undefined {
  try {
    return lstatSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}

// An empty record of files by path, with no prototype: a file named `__proto__` is a path like any other
// (on a plain object, assigning it would set the object's prototype, and the file would never be recorded).
function noFiles(): Record<string, Recorded> {
  return Object.create(null) as Record<string, Recorded>;
}

function recordOf(stats: BigIntStats): Recorded {
  const kind = kindOf(stats);
  if (kind === undefined) return { kind: "missing" };
  const { ino, size, mtimeNs, ctimeNs, mode } = stats;
  return { kind, ino: String(ino), size: String(size), mtime: String(mtimeNs), ctime: String(ctimeNs), mode: Number(mode) };
}

function kindOf(stats: BigIntStats): Kind | undefined {
  return stats.isDirectory() ? "directory" : stats.isFile() ? "file" : stats.isSymbolicLink() ? "link" : undefined;
}

async function readManifest(file: string): Promise<{ manifest: Manifest; writtenNs: bigint } | undefined> {
  try {
    const [text, stats] = await Promise.all([readFile(file, "utf8"), lstat(file, { bigint: true })]);
    const manifest = JSON.parse(text) as Manifest;
    if (!Array.isArray(manifest?.entries) || typeof manifest.path !== "string" || typeof manifest.files !== "object") return undefined;
    return { manifest, writtenNs: stats.mtimeNs };
  } catch {
    return undefined;
  }
}

function keyOf(path: string): string {
  return createHash("sha256").update(path).digest("hex").slice(0, 32);
}
