// Removing a directory so that it is gone at once or not at all: it is renamed aside first (a rename is
// atomic on one file system), then removed. What a crash leaves aside is removed by the next pass, and
// nothing ever sees a half-removed entry where a whole one was.
import { chmod, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";

const TRASH_PREFIX = ".gc-trash-";

/** Moves `path` (a child of `parent`) aside and removes it; nothing when it is not there. */
export async function discardAtomically(parent: string, path: string): Promise<void> {
  const aside = join(parent, `${TRASH_PREFIX}${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  try {
    await rename(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  await removeTree(aside);
}

/** The directories earlier passes moved aside in `parent` and did not get to remove. */
export async function trashIn(parent: string): Promise<string[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  return names.filter((name) => name.startsWith(TRASH_PREFIX)).map((name) => join(parent, name));
}

/** rm -r, also through directories made read-only (Go's module cache makes them so). */
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
  await chmod(dir, 0o700).catch(() => undefined);
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (entry.isDirectory()) await makeWritable(join(dir, entry.name));
  }
}
