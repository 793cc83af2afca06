// Copying what a cache holds in and out: files as copies of their own (a reflink where the filesystem
// has them, else bytes), never hard links, so a step writing into a restored file cannot change the
// entry it came from; symlinks as links (never followed), modes kept, sockets, FIFOs and devices left out.
import { constants } from "node:fs";
import { copyFile, lstat, mkdir, open, readdir, readlink, rm, symlink } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Files copied at once: enough to keep the thread pool busy, few enough for any descriptor limit. */
const IN_FLIGHT = 16;

export interface CopyOptions {
  /** Flush every file and directory written to the disk before resolving (for an entry being saved). */
  fsync: boolean;
}

/**
 * Copies `from` (a file, directory or symlink) to `to`, creating `to`'s parent directories. Into an
 * existing directory it merges, as extracting an archive would: files and links of the same name are
 * replaced, others stay. Resolves false when `from` does not exist.
 */
export async function copyTree(from: string, to: string, options: CopyOptions): Promise<boolean> {
  const stats = await lstat(from).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (!stats) return false;
  await mkdir(dirname(to), { recursive: true });
  const limit = new Limit(IN_FLIGHT);
  // `fresh`: the target's directory was made by this copy, so nothing is in the way of what goes in it.
  const copy = async (source: string, target: string, kind: Kind, fresh: boolean): Promise<void> => {
    if (kind === "other") return;
    // What is in the way goes first, so that nothing is written through a link to elsewhere.
    const existing = fresh ? undefined : await lstat(target).catch(() => undefined);
    if (existing && (kind !== "directory" || !existing.isDirectory()) && (kind !== "file" || !existing.isFile()))
      await rm(target, { recursive: true, force: true });
    if (kind === "directory") {
      const made = !existing?.isDirectory();
      if (made) await mkdir(target);
      const entries = await readdir(source, { withFileTypes: true });
      await Promise.all(entries.map((e) => copy(join(source, e.name), join(target, e.name), kindOf(e), made)));
      if (options.fsync) await flush(target);
    } else if (kind === "file") {
      await limit.run(async () => {
        await copyFile(source, target, constants.COPYFILE_FICLONE);
        if (options.fsync) await flush(target);
      });
    } else {
      await limit.run(async () => symlink(await readlink(source), target));
    }
  };
  await copy(from, to, kindOf(stats), false);
  return true;
}

type Kind = "directory" | "file" | "link" | "other";

function kindOf(entry: { isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }): Kind {
  return entry.isDirectory() ? "directory" : entry.isFile() ? "file" : entry.isSymbolicLink() ? "link" : "other";
}

/** fsync of a file or a directory (a directory's, so that the names in it are on the disk too). */
export async function flush(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** At most `max` tasks at once; the rest wait their turn in order. */
class Limit {
  readonly #max: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(max: number) {
    this.#max = max;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#max) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.#running++;
    try {
      return await task();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }
}
