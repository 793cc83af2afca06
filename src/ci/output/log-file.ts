// A step's log file: every byte of its output, redacted, readable (and followable) while the step runs.
import { close, ftruncateSync, mkdirSync, openSync, watch, writeSync, writevSync, type FSWatcher } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { basename, dirname } from "node:path";
import { isDiskFull } from "../disk-space.js";
import { watchBursts } from "../watch-bursts.js";
import { LogClosedError, LogFileError } from "./errors.js";
import { Redactor } from "./redact.js";
import { TailBuffer } from "../../runtime/tail-buffer.js";

/** What a log cut on a full disk keeps of its beginning, and of its end. */
export const CUT_HEAD_BYTES = 64 * 1024;
export const CUT_TAIL_BYTES = 64 * 1024;

/**
 * Output waiting to be written is written once it reaches this much, or this long after it came: a write
 * costs about the same for 4 KiB as for 512 KiB here (the file system's per-write work), and a PTY read
 * gives at most a few KiB, so one write per read cost a fifth of the backend's time at full speed. A follower
 * sees output at most that much later; a step's end (close()) writes everything first.
 */
const BATCH_BYTES = 512 * 1024;
const BATCH_MS = 10;

/** Told after each write the log did on its own (BATCH_MS after output came): `error` when the disk refused it. */
export type LogFlushed = (error: LogFileError | undefined) => void;

/**
 * Appends a step's output to its log, created 0600 (its directory 0700 when created here), with `secrets`
 * redacted across chunk boundaries. Output is gathered and written in one writev() per BATCH_BYTES or
 * BATCH_MS, not one write per PTY read. Writes are synchronous: once close() returns, every byte is in the
 * file, so a follower that sees the step end (isLive() false) after it reads all of them — no buffered
 * stream to wait for.
 * The buffers given to write() must not change afterwards (they are written as they are, not copied).
 *
 * A full disk (ENOSPC, EDQUOT) is not thrown: the log cuts itself there and then, down to its first
 * CUT_HEAD_BYTES (giving the rest back to the disk at once, for the store to record how the step ended),
 * keeps only the last CUT_TAIL_BYTES of what comes after, and close() writes a line saying how much was left
 * out, then those last bytes. `cut` says it happened: the caller stops the step.
 */
export class StepLog {
  readonly path: string;
  readonly #redactor: Redactor;
  readonly #onFlushed: LogFlushed | undefined;
  #fd: number | undefined;
  #closed: Promise<void> | undefined;
  /** Bytes given to the log (after redaction), and bytes of them in the file. */
  #given = 0;
  #written = 0;
  /**
   * Given and not yet written: copied here (so a PTY read is not kept alive until the write; it dies young),
   * its length, and the write planned for it.
   */
  #batch: Buffer = Buffer.alloc(0);
  #pendingBytes = 0;
  #flushTimer: NodeJS.Timeout | undefined;
  /** A write the log did by itself that failed, not yet told to anyone (there was no `onFlushed`). */
  #failure: LogFileError | undefined;
  readonly #tail = new TailBuffer(CUT_TAIL_BYTES);
  /** Where the log was cut when the disk filled up; undefined while it is whole. */
  #cutAt: number | undefined;

  private constructor(path: string, fd: number, redactor: Redactor, onFlushed: LogFlushed | undefined) {
    this.path = path;
    this.#fd = fd;
    this.#redactor = redactor;
    this.#onFlushed = onFlushed;
  }

  /**
   * Throws LogFileError (QUIRE_ERR_LOG_FILE) when the file cannot be created or opened. `onFlushed` hears
   * how each write the log does by itself went (a failure there cannot be thrown to a caller); without it a
   * failed write of that kind is thrown by the next write() or close().
   */
  static open(path: string, secrets: readonly string[] = [], onFlushed?: LogFlushed): StepLog {
    const redactor = new Redactor(secrets);
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      return new StepLog(path, openSync(path, "a", 0o600), redactor, onFlushed);
    } catch (cause) {
      throw new LogFileError(path, "open", cause);
    }
  }

  /** The disk filled up while this log was written, and the log was cut. */
  get cut(): boolean {
    return this.#cutAt !== undefined;
  }

  /** Throws LogClosedError after close(), LogFileError when the disk refuses for another reason than being full. */
  write(chunk: Buffer): void {
    if (this.#fd === undefined) throw new LogClosedError(this.path);
    this.#throwFailure();
    this.#keep(this.#fd, this.#redactor.push(chunk));
  }

  /** Writes what the redactor held back (a partial secret at the very end is just bytes) and closes; idempotent. */
  close(): Promise<void> {
    const fd = this.#fd;
    if (fd === undefined) return this.#closed!;
    this.#fd = undefined;
    this.#closed = new Promise<void>((resolve, reject) => {
      let failure: unknown;
      try {
        this.#throwFailure();
        this.#keep(fd, this.#redactor.end());
        this.#flush(fd);
        if (this.#cutAt !== undefined) this.#writeCutEnd(fd, this.#cutAt);
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

  #throwFailure(): void {
    const failure = this.#failure;
    this.#failure = undefined;
    if (failure) throw failure;
  }

  #keep(fd: number, bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#given += bytes.length;
    this.#tail.push(bytes);
    if (this.#cutAt !== undefined) return;
    const pending = this.#pendingBytes + bytes.length;
    if (pending > BATCH_BYTES) return this.#flush(fd, bytes);
    if (pending > this.#batch.length) {
      const batch = Buffer.allocUnsafe(Math.min(BATCH_BYTES, Math.max(pending, 2 * this.#batch.length, 16 * 1024)));
      this.#batch.copy(batch, 0, 0, this.#pendingBytes);
      this.#batch = batch;
    }
    bytes.copy(this.#batch, this.#pendingBytes);
    this.#pendingBytes = pending;
    this.#flushTimer ??= setTimeout(this.#flushLater, BATCH_MS);
  }

  readonly #flushLater = (): void => {
    this.#flushTimer = undefined;
    if (this.#fd === undefined) return;
    let failure: LogFileError | undefined;
    try {
      this.#flush(this.#fd);
    } catch (error) {
      failure = error as LogFileError;
    }
    if (this.#onFlushed) this.#onFlushed(failure);
    else this.#failure ??= failure;
  };

  /** Writes what is pending, then `more`, in one writev() unless the file takes less at a time. */
  #flush(fd: number, more?: Buffer): void {
    clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    let pending = this.#pendingBytes > 0 ? [this.#batch.subarray(0, this.#pendingBytes)] : [];
    if (more) pending.push(more);
    this.#pendingBytes = 0;
    if (this.#cutAt !== undefined) return;
    try {
      while (pending.length > 0) {
        let n = pending.length === 1 ? writeSync(fd, pending[0]!) : writevSync(fd, pending);
        this.#written += n;
        // A part was written: what is left goes next.
        let k = 0;
        while (k < pending.length && n >= pending[k]!.length) n -= pending[k++]!.length;
        pending = pending.slice(k);
        if (n > 0) pending[0] = pending[0]!.subarray(n);
      }
    } catch (cause) {
      if (!isDiskFull(cause)) throw new LogFileError(this.path, "write", cause);
      this.#cutAt = Math.min(this.#written, CUT_HEAD_BYTES);
      try {
        ftruncateSync(fd, this.#cutAt);
      } catch {
        // Not a file that can be cut (a device such as /dev/full): nothing of it to give back.
      }
    }
  }

  /** After the head a cut log kept: how much was left out, then the last bytes it was given. */
  #writeCutEnd(fd: number, cutAt: number): void {
    const tail = this.#tail.bytes(this.#given - cutAt);
    const leftOut = this.#given - cutAt - tail.length;
    const note = `\r\n[quire: the disk filled up, so this log was cut here: ${leftOut} bytes of output left out; the last ${tail.length} bytes follow]\r\n`;
    this.#append(fd, Buffer.concat([Buffer.from(note), tail]));
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
    if (bytesRead === 0) {
      // A log cut on a full disk (StepLog) is shorter than what was read of it: it was cut at its head, and
      // the note of what was left out and its last bytes come (or came) after that. (A follower that had read
      // less than the note and the last bytes take cannot tell, and goes on where it was.)
      const { size } = await handle.stat().catch(() => ({ size: offset }));
      if (size >= offset) break;
      offset = Math.min(size, CUT_HEAD_BYTES);
      continue;
    }
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
        // Its events share the process's inotify queue with the tree watchers', which must hear of a flood.
        watchBursts.count();
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
