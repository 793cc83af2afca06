// Entries of files kept under QUIRE_HOME/cache, each whole or not there at all: an entry is written
// aside (under .saving/), flushed to the disk, and renamed into place, so a crash or a full disk mid-save
// never leaves a half entry where a later run would restore it. An entry, once there, is never changed.
//
//   cache/<kind>/<name>/entry.json   what the entry is (its meta, the paths it holds, when it was made)
//   cache/<kind>/<name>/files/<path> the paths, as they were under the directory they were saved from
//   cache/.saving/<...>              entries being written; removed when the ci backend starts
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { OutputsKeeper, Survey } from "../workspace/kept-outputs.js";
import { copyTree, flush } from "./tree-copy.js";

const SAVING = ".saving";
const META = "entry.json";
const FILES = "files";

/** What an entry's entry.json holds besides its own meta. */
export interface EntryHeader {
  /** The paths it holds, relative to the directory they were saved from and go back to. */
  paths: string[];
  /** ms since the epoch. */
  createdAt: number;
}

export type SaveResult = "saved" | "exists" | "nothing";

/**
 * Removes what saves that never finished left under `root` (QUIRE_HOME/cache) after a crash or a kill:
 * nothing of them was ever an entry. For a backend starting, before any save of its own.
 */
export function removeHalfSaved(root: string): void {
  rmSync(join(root, SAVING), { recursive: true, force: true });
  mkdirSync(root, { recursive: true, mode: 0o700 });
}

export class EntryStore<Meta extends object> {
  readonly #root: string;
  readonly #kind: string;
  readonly #dir: string;

  /** Entries of one kind (`deps`, `results`) under `root` (QUIRE_HOME/cache). */
  constructor(root: string, kind: string) {
    this.#root = root;
    this.#kind = kind;
    this.#dir = join(root, kind);
  }

  /** The entry `name` (a relative path, `a/b` nests), or undefined when there is none whole. */
  async read(name: string): Promise<(Meta & EntryHeader) | undefined> {
    try {
      return JSON.parse(await readFile(join(this.#dir, name, META), "utf8")) as Meta & EntryHeader;
    } catch {
      // No entry, or one damaged on the disk since: either way, none to use.
      return undefined;
    }
  }

  /** The names of the entries directly under `dir` (a name's directory part; "" for the top). */
  async names(dir: string): Promise<string[]> {
    const entries = await readdir(join(this.#dir, dir), { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory()).map((e) => (dir ? `${dir}/${e.name}` : e.name));
  }

  /**
   * Saves as entry `name` the `paths` under `from` that exist, with `meta`: "exists" when an entry of
   * that name is there already (it is kept as it is); "nothing" when none of the paths exists, unless
   * `keepEmpty` (an entry of its meta alone). With `kept`, the workspace `from` is in keeps what it saved
   * as a copy of the entry (kept-outputs.ts).
   */
  async save(
    name: string,
    from: string,
    paths: readonly string[],
    meta: Meta,
    now: number,
    options: { keepEmpty?: boolean; kept?: OutputsKeeper } = {},
  ): Promise<SaveResult> {
    const { kept } = options;
    const surveys: (Survey | undefined)[] = [];
    const result = await this.saveWritten(
      name,
      async (files) => {
        // Surveyed here, once saveWritten found no entry of that name: one there already is kept as it is,
        // not a copy of these.
        if (kept) surveys.push(...(await Promise.all(paths.map((path) => kept.survey(join(from, path))))));
        const held: string[] = [];
        for (const path of paths) {
          if (await copyTree(join(from, path), join(files, path), { fsync: true })) held.push(path);
        }
        return held;
      },
      meta,
      now,
      options.keepEmpty,
    );
    if (kept && result === "saved") {
      for (const [i, path] of paths.entries()) {
        const before = surveys[i];
        if (before) await kept.saved(this.#idOf(name, now), join(this.filesOf(name), path), join(from, path), before);
      }
    }
    return result;
  }

  /**
   * Saves as entry `name` what `write` puts under the (new, empty) directory it is given, as `save` does:
   * `write` gives the paths it wrote and has flushed every file and directory it made to the disk.
   */
  async saveWritten(
    name: string,
    write: (files: string) => Promise<string[]>,
    meta: Meta,
    now: number,
    keepEmpty = false,
  ): Promise<SaveResult> {
    const final = join(this.#dir, name);
    if ((await this.read(name)) !== undefined) return "exists";
    const aside = join(this.#root, SAVING, `${process.pid}-${randomBytes(6).toString("hex")}`);
    await mkdir(join(aside, FILES), { recursive: true, mode: 0o700 });
    try {
      const held = await write(join(aside, FILES));
      if (held.length === 0 && !keepEmpty) return "nothing";
      // The names of the paths' directories, up to files/ itself, on the disk too.
      const dirs = new Set(held.flatMap((path) => ancestors(join(aside, FILES), path)));
      for (const dir of dirs) await flush(dir);
      const header: EntryHeader = { paths: held, createdAt: now };
      await writeFile(join(aside, META), JSON.stringify({ ...meta, ...header }), { flush: true });
      await flush(aside);
      await mkdir(dirname(final), { recursive: true, mode: 0o700 });
      try {
        await rename(aside, final);
      } catch (error) {
        // Another save of the same name got there first: entries are immutable, so either one will do.
        if ((error as NodeJS.ErrnoException).code === "ENOTEMPTY" || (error as NodeJS.ErrnoException).code === "EEXIST") return "exists";
        throw error;
      }
      await flush(dirname(final));
      return "saved";
    } finally {
      await rm(aside, { recursive: true, force: true });
    }
  }

  // What tells one entry from another for good: an entry removed and saved again under its name is another.
  #idOf(name: string, createdAt: number): string {
    return `${this.#kind}/${name}@${createdAt}`;
  }

  /** The directory entry `name`'s paths are under. */
  filesOf(name: string): string {
    return join(this.#dir, name, FILES);
  }

  /**
   * Copies entry `name`'s paths back under `to`, replacing what is in their way; with `kept`, a path the
   * workspace kept from an earlier restore of the same entry is taken instead of copied, and one put back
   * where nothing was is recorded to be kept (kept-outputs.ts).
   */
  async restore(name: string, entry: EntryHeader, to: string, kept?: OutputsKeeper): Promise<void> {
    const id = this.#idOf(name, entry.createdAt);
    for (const path of entry.paths) {
      const source = join(this.#dir, name, FILES, path);
      const target = join(to, path);
      if (kept && ((await kept.take(id, source, target)) || (await kept.putBack(id, source, target)))) continue;
      await copyTree(source, target, { fsync: false });
    }
  }
}

/** The directories from `root` down to `path`'s parent (`root`, `root/a` for `a/b`). */
function ancestors(root: string, path: string): string[] {
  const parts = path.split("/").slice(0, -1);
  return [root, ...parts.map((_, i) => join(root, ...parts.slice(0, i + 1)))];
}
