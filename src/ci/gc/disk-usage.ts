// How many bytes a file or a directory's tree holds: what retention weighs and frees, and what doctor shows.
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * The sizes of the files under `path` added up (of `path` itself when it is a file); 0 when it does not
 * exist. Symbolic links are not followed, and what vanishes while it is counted counts as nothing.
 */
export async function treeBytes(path: string): Promise<number> {
  const stats = await lstat(path).catch(() => undefined);
  if (stats === undefined) return 0;
  if (!stats.isDirectory()) return stats.isFile() ? stats.size : 0;
  const names = await readdir(path).catch(() => [] as string[]);
  const sizes = await Promise.all(names.map((name) => treeBytes(join(path, name))));
  return sizes.reduce((sum, n) => sum + n, 0);
}

/** One part of what quire keeps on disk. */
export interface DiskUse {
  /** store, logs, workspaces, caches, git, actions, daemon log. */
  name: string;
  /** Where it is (for the store and the daemon's log, the main file; its siblings are counted with it). */
  path: string;
  bytes: number;
}

/**
 * What quire keeps under `dataDir`, part by part (parts that are not there count 0): the run store and
 * the files beside it, the steps' logs, the runs' workspaces, dependency caches, quire's git object
 * stores, the kept actions, and the daemon's log with its rotated files.
 */
export async function quireDiskUse(places: { dataDir: string; logDir: string; database: string; logFile: string }): Promise<DiskUse[]> {
  const { dataDir } = places;
  const withSiblings = async (file: string, suffixes: string[]) =>
    (await Promise.all([file, ...suffixes.map((s) => `${file}${s}`)].map(treeBytes))).reduce((a, b) => a + b, 0);
  const names = await readdir(dataDir).catch(() => [] as string[]);
  const rotated = names.filter((n) => /^quired\.log\.\d+$/.test(n)).map((n) => `.${n.slice("quired.log.".length)}`);
  const parts: [string, string, Promise<number>][] = [
    ["store", places.database, withSiblings(places.database, ["-wal", "-shm", ".reserve"])],
    ["logs", places.logDir, treeBytes(places.logDir)],
    ["workspaces", join(dataDir, "work"), treeBytes(join(dataDir, "work"))],
    ["caches", join(dataDir, "cache"), treeBytes(join(dataDir, "cache"))],
    ["git", join(dataDir, "git"), treeBytes(join(dataDir, "git"))],
    ["actions", join(dataDir, "actions"), treeBytes(join(dataDir, "actions"))],
    ["daemon log", places.logFile, withSiblings(places.logFile, rotated)],
  ];
  return Promise.all(parts.map(async ([name, path, bytes]) => ({ name, path, bytes: await bytes })));
}
