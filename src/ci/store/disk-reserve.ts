// Room kept on the store's file system so that quire can still record a failure when the disk fills up: a
// file beside quire.db, removed the moment a store write finds the disk full (the write is then tried again
// in the room it leaves: a run's end above all), and made again once there is room.
import { closeSync, existsSync, openSync, renameSync, rmSync, unlinkSync, writeSync } from "node:fs";
import { randomFillSync } from "node:crypto";
import { dirname } from "node:path";
import { fileSystemSpace } from "../disk-space.js";

/** Enough for a few dozen transactions of a run's end (each a handful of 4 KiB pages in the WAL). */
export const RESERVE_BYTES = 1024 * 1024;
/** Made again only while the file system has this many times its size free: a reserve must not be what fills it. */
const ROOM_FACTOR = 4;

/** Where the store `database` keeps its reserve. */
export function reservePath(database: string): string {
  return `${database}.reserve`;
}

export class DiskReserve {
  readonly path: string;
  readonly bytes: number;

  constructor(path: string, bytes = RESERVE_BYTES) {
    this.path = path;
    this.bytes = bytes;
  }

  get held(): boolean {
    return existsSync(this.path);
  }

  /**
   * Makes the reserve if it is not there and the file system has room for it; whether it is there now.
   * Never throws: a reserve that cannot be made only means the next full disk has nothing to give back.
   */
  ensure(): boolean {
    if (this.held) return true;
    const partial = `${this.path}.partial`;
    try {
      if (fileSystemSpace(dirname(this.path)).freeBytes < this.bytes * ROOM_FACTOR) return false;
      // Random bytes, written: a file system that compresses (btrfs, ZFS) would keep zeros in next to
      // nothing, and Node has no fallocate(). Renamed into place, so a reserve is never half made.
      const fd = openSync(partial, "w", 0o600);
      try {
        const chunk = randomFillSync(Buffer.allocUnsafe(Math.min(this.bytes, 64 * 1024)));
        for (let done = 0; done < this.bytes; ) done += writeSync(fd, chunk, 0, Math.min(chunk.length, this.bytes - done));
      } finally {
        closeSync(fd);
      }
      renameSync(partial, this.path);
      return true;
    } catch {
      try {
        rmSync(partial, { force: true });
      } catch {}
      return false;
    }
  }

  /** Gives the room back to the file system; true when there was a reserve to give. */
  release(): boolean {
    try {
      unlinkSync(this.path);
      return true;
    } catch {
      return false;
    }
  }
}
