// A step's log file: every byte of its output, redacted, readable (and followable) while the step runs.
import { close, mkdirSync, openSync, watch, writeSync, type FSWatcher } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { LogClosedError, LogFileError } from "./errors.js";
import { Redactor } from "./redact.js";

/**
 * Appends a step's output to its log, created 0600 (its directory 0700 when created here), with `secrets`
 * redacted across chunk boundaries. Writes are synchronous: a PTY chunk into the page cache takes
 * microseconds, and once write() returns the bytes are in the file, so a follower that sees the step end
 * (isLive() false) after the last write() reads all of them — no buffered stream to wait for.
 */
export class StepLog {
  readonly path: string;
  readonly #redactor: Redactor;
  #fd: number | undefined;
  #closed: Promise<void> | undefined;

  private constructor(path: string, fd: number, redactor: Redactor) {
    this.path = path;
    this.#fd = fd;
    this.#redactor = redactor;
  }

  /** Throws LogFileError (QUIRE_ERR_LOG_FILE) when the file cannot be created or opened. */
  static open(path: string, secrets: readonly string[] = []): StepLog {
    const redactor = new Redactor(secrets);
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      return new StepLog(path, openSync(path, "a", 0o600), redactor);
    } catch (cause) {
      throw new LogFileError(path, "open", cause);
    }
  }

  /** Throws LogClosedError after close(), LogFileError when the disk refuses. */
  write(chunk: Buffer): void {
    if (this.#fd === undefined) throw new LogClosedError(this.path);
    this.#append(this.#fd, this.#redactor.push(chunk));
  }

  /** Writes what the redactor held back (a partial secret at the very end is just bytes) and closes; idempotent. */
  close(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return this.#closed!;
    this.#fd = undefined;
    this.#closed = new Promise<void>((resolve, reject) => {
      let failure: unknown;
      try {
        this.#append(fd, this.#redactor.end());
      } catch (error) {
        failure = error;
      }
      close(fd, (cause) => {
        if (failure) reject(failure);
        else if (cause) reject(new LogFileError(this.path, "close", cause));
        else resolve();
      });
    });
    return this.#closed;
  }

  #append(fd: number, bytes: Buffer): void {
    try {
      for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done);
    } catch (cause) {
      throw new LogFileError(this.path, "write", cause);
    }
  }
}

/** How often a follower looks again when no change event arrives (events may be missed on some filesystems, and the step's end is not a file event). */
const POLL_MS = 200;
/** The first look again while the log's directory does not exist yet (a follower that came before the step); doubling up to POLL_MS. */
const UNWATCHED_POLL_MS = 5;
const READ_BYTES = 64 * 1024;

/**
 * Reads the log at `path` from byte `offset` and keeps reading while it grows, handing each piece to
 * `onChunk` (awaited, so a slow reader slows the follow, not memory). Ends once isLive() has returned false
 * and everything written before that is read; a log that does not exist yet is waited for while live.
 * Resolves with the offset reached, also when `signal` aborts. Throws LogFileError when reading fails.
 */
export async function followLog(
  path: string,
  onChunk: (chunk: Buffer) => void | Promise<void>,
  isLive: () => boolean,
  signal: AbortSignal,
  offset = 0,
): Promise<number> {
  const wakeup = new Wakeup(path, signal);
  let handle: FileHandle | undefined;
  try {
    while (!signal.aborted) {
      // Asked before reading: if the step had ended by now, reading to the end gets its last byte.
      const live = isLive();
      handle ??= await openIfExists(path);
      if (handle) offset = await readToEnd(handle, path, offset, onChunk, signal);
      if (!live) break;
      await wakeup.next();
    }
    return offset;
  } finally {
    wakeup.close();
    await handle?.close();
  }
}

async function openIfExists(path: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, "r");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new LogFileError(path, "open", cause);
  }
}

async function readToEnd(
  handle: FileHandle,
  path: string,
  offset: number,
  onChunk: (chunk: Buffer) => void | Promise<void>,
  signal: AbortSignal,
): Promise<number> {
  while (!signal.aborted) {
    const buffer = Buffer.allocUnsafe(READ_BYTES);
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, 0, READ_BYTES, offset));
    } catch (cause) {
      throw new LogFileError(path, "read", cause);
    }
    if (bytesRead === 0) break;
    offset += bytesRead;
    await onChunk(buffer.subarray(0, bytesRead));
  }
  return offset;
}

/** Wakes a follower when the log changes (a watch on its directory, which also sees it created), on a poll tick, or on abort. */
class Wakeup {
  readonly #signal: AbortSignal;
  readonly #directory: string;
  readonly #name: string;
  #watcher: FSWatcher | undefined;
  #waiter: (() => void) | undefined;
  /** A change arrived while nobody waited: the next wait returns at once. */
  #changed = false;
  #unwatchedDelay = UNWATCHED_POLL_MS;

  constructor(path: string, signal: AbortSignal) {
    this.#signal = signal;
    this.#directory = dirname(path);
    this.#name = basename(path);
    signal.addEventListener("abort", this.#wake);
    // Before the first read: a write between that read and a later watch would wait for the poll.
    this.#watch();
  }

  /** Watching starts as soon as the log's directory exists (it may not, yet, when following begins). */
  #watch(): void {
    try {
      this.#watcher = watch(this.#directory, { persistent: false }, (_event, file) => {
        if (!file || file === this.#name) this.#wake();
      });
      this.#watcher.on("error", () => this.#watcher?.close());
    } catch {
      // No directory yet, or no watching here: the poll still finds every change.
    }
  }

  next(): Promise<void> {
    if (!this.#watcher) this.#watch();
    if (this.#changed || this.#signal.aborted) {
      this.#changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      // Until the log's directory exists nothing can be watched: look again soon (the first bytes usually
      // follow at once), less and less often (a pending run may wait long for a slot).
      const delay = this.#watcher ? POLL_MS : (this.#unwatchedDelay = Math.min(POLL_MS, this.#unwatchedDelay * 2));
      const timer = setTimeout(this.#wake, delay);
      this.#waiter = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  close(): void {
    this.#watcher?.close();
    this.#signal.removeEventListener("abort", this.#wake);
  }

  readonly #wake = (): void => {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    if (waiter) waiter();
    else this.#changed = true;
  };
}
