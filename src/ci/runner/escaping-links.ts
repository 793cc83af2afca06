// Symlinks of a workspace that point out of it (`/home/me/.env`, `../../x`): a step that writes through
// one writes the file it points at. In the sandbox that file is read-only (or private); without it,
// RunSandbox refuses the job's steps when the checkout holds any (README, "The sandbox").
import { readdir, readlink } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";

export interface EscapingLink {
  /** Relative to the workspace root. */
  path: string;
  target: string;
}

/**
 * The symlinks under `root` whose target is absolute or climbs out of `root`, in no particular order, at
 * most `limit` of them. Each link is judged by its own text: a link that escapes only through another
 * link is found as that other link. Links are not followed.
 */
export async function findEscapingLinks(root: string, limit = 10): Promise<EscapingLink[]> {
  const top = resolve(root);
  const found: EscapingLink[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (found.length >= limit) return;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(path);
      else if (entry.isSymbolicLink()) {
        const target = await readlink(path);
        if (escapes(top, dirname(path), target)) found.push({ path: relative(top, path), target });
      }
    }
  };
  await visit(top);
  return found;
}

function escapes(root: string, from: string, target: string): boolean {
  if (isAbsolute(target)) return true;
  const rel = relative(root, resolve(from, target));
  return rel === ".." || rel.startsWith("../") || isAbsolute(rel);
}
