// The entries under QUIRE_HOME/cache as retention sees them: any directory holding an `entry.json`
// (cache/<kind>/<name...>/entry.json, whatever the kind), made when its `createdAt` says (else when the
// file was written). Names starting with `.` are a cache's own (entries being saved) or retention's
// (entries being removed), never entries.
import { readdir, readFile, stat } from "node:fs/promises";
import { join, relative } from "node:path";

const META = "entry.json";
/** Entries nest by name (`deps/<repository>/<entry>`); deeper than this is not a cache's. */
const MAX_DEPTH = 6;

export interface CacheEntryOnDisk {
  /** Relative to the cache root, with `/`. */
  name: string;
  dir: string;
  createdAt: number;
}

/** Every entry under `root`; none when there is no cache. */
export async function cacheEntries(root: string): Promise<CacheEntryOnDisk[]> {
  const found: CacheEntryOnDisk[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    const meta = await stat(join(dir, META)).catch(() => undefined);
    if (meta?.isFile()) {
      found.push({ name: relative(root, dir).split("\\").join("/"), dir, createdAt: await createdAt(join(dir, META), meta.mtimeMs) });
      return;
    }
    if (depth >= MAX_DEPTH) return;
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (entry.isDirectory() && !entry.name.startsWith(".")) await walk(join(dir, entry.name), depth + 1);
    }
  };
  for (const entry of await readdir(root, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory() && !entry.name.startsWith(".")) await walk(join(root, entry.name), 1);
  }
  return found;
}

async function createdAt(file: string, fallback: number): Promise<number> {
  try {
    const value = (JSON.parse(await readFile(file, "utf8")) as { createdAt?: unknown }).createdAt;
    return typeof value === "number" && Number.isFinite(value) ? value : fallback;
  } catch {
    return fallback;
  }
}
