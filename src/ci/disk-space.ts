// The file system holding a path, named the way a person finds it when it fills up (its type and mount
// point, its size and what is free), and whether an error says that it is full.
import { existsSync, readFileSync, realpathSync, statfsSync } from "node:fs";
import { dirname } from "node:path";

export interface FileSystemSpace {
  /** Where it is mounted; where mounts cannot be read (not Linux), the nearest existing directory of the path. */
  mountPoint: string;
  /** "tmpfs", "ext4", ...; null where mounts cannot be read. */
  type: string | null;
  /** Bytes a process that is not root can still write. */
  freeBytes: number;
  sizeBytes: number;
}

/** The file system `path` is on (or would be on, for a path that does not exist yet). Throws when it cannot be read. */
export function fileSystemSpace(path: string): FileSystemSpace {
  let dir = path;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  const fs = statfsSync(dir);
  const mount = mountOf(realpathSync(dir));
  return {
    mountPoint: mount?.mountPoint ?? dir,
    type: mount?.type ?? null,
    freeBytes: fs.bavail * fs.bsize,
    sizeBytes: fs.blocks * fs.bsize,
  };
}

/** `tmpfs at /mnt/x: 12.0 KiB free of 8.0 MiB`. */
export function describeSpace(space: FileSystemSpace): string {
  const name = space.type ? `${space.type} at ${space.mountPoint}` : `the file system at ${space.mountPoint}`;
  return `${name}: ${formatBytes(space.freeBytes)} free of ${formatBytes(space.sizeBytes)}`;
}

/** describeSpace() of the file system holding `path`, or a plain name of it when even that cannot be read. */
export function describeSpaceOf(path: string): string {
  try {
    return describeSpace(fileSystemSpace(path));
  } catch {
    return `the file system holding ${path}`;
  }
}

/** The error (or one of its causes) says the disk is full: ENOSPC, EDQUOT (over quota), SQLITE_FULL. */
export function isDiskFull(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOSPC" || code === "EDQUOT" || code === "SQLITE_FULL") return true;
  }
  return false;
}

export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** The mount holding `path` (a real path): the longest mount point above it in /proc/self/mountinfo, the last mounted of equals. */
function mountOf(path: string): { mountPoint: string; type: string } | undefined {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch {
    return undefined;
  }
  let best: { mountPoint: string; type: string } | undefined;
  for (const line of text.split("\n")) {
    // id parent major:minor root mount-point options [optional fields...] - type source super-options
    const fields = line.split(" ");
    const dash = fields.indexOf("-", 6);
    if (dash < 0 || fields.length < dash + 2) continue;
    const mountPoint = unescapeMount(fields[4]!);
    const type = fields[dash + 1]!;
    const above = path === mountPoint || path.startsWith(mountPoint.endsWith("/") ? mountPoint : `${mountPoint}/`);
    if (above && (!best || mountPoint.length >= best.mountPoint.length)) best = { mountPoint, type };
  }
  return best;
}

/** mountinfo writes a space, tab, newline and backslash in a path as octal escapes (`\040`). */
function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}
