// A real small file system for tests of a full disk: a tmpfs of a given size, mounted on a temporary
// directory (mode 0700, as a QUIRE_HOME must be). Mounting needs root, which CI has: where it is not
// permitted, mountTmpfs throws saying so, and the test fails rather than passing without having run.
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Tmpfs {
  dir: string;
  /** Unmounts (lazily if something still holds it) and removes the mount point. */
  unmount(): void;
}

export function mountTmpfs(bytes: number): Tmpfs {
  const dir = mkdtempSync(join(tmpdir(), "quire-tmpfs-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0700`, "tmpfs", dir], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const said = (error as { stderr?: Buffer }).stderr?.toString().trim() || (error as Error).message;
    throw new Error(
      `this test needs a real small file system and could not mount one (mount -t tmpfs -o size=${bytes} tmpfs ${dir}: ${said}); ` +
        `run it as root (CI does), or in a container allowed to mount`,
    );
  }
  return {
    dir,
    unmount() {
      try {
        execFileSync("umount", [dir], { stdio: "ignore" });
      } catch {
        execFileSync("umount", ["-l", dir], { stdio: "ignore" });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes a file at `path` until the file system refuses (ENOSPC): afterwards nothing more fits. */
export function fillDisk(path: string): void {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  try {
    for (const size of [chunk.length, 4096, 1]) {
      try {
        for (;;) writeSync(fd, chunk, 0, size);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      }
    }
  } finally {
    closeSync(fd);
  }
}
