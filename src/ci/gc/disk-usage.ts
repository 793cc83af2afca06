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
