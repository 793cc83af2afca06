// A command in a pseudo-terminal (Linux, macOS), through node-pty's native fork.
//
// Why not node-pty's Terminal: when a command exits, its terminal's slave side closes, and a read of the
// master that finds the line discipline momentarily empty gets EIO even though more output is still
// queued in the kernel's tty buffers. node-pty then ends the stream and that tail is lost (measured here:
// `cat` of a 9 KB file lost output in over half of its runs). We instead
//   1. hold a descriptor of the slave open ourselves, so the master never sees "other side closed";
//   2. when the command has exited, write a random sentinel through that slave: the tty is a FIFO, so
//      reading the sentinel proves every byte the command wrote arrived;
//   3. then let go of our slave descriptor. If nothing else holds the terminal the master reports EIO at
//      once; if something does (a leftover that ignored SIGHUP), it is found and ended;
//   4. only then close the master and report the exit.
// With leftovers kept (the `leftovers` option), step 3 ends nothing: the exit is reported at the
// sentinel, and the master stays open, read and its output dropped, while anything holds the terminal.
// native-notes/pty.md has the whole story.
import { EventEmitter } from "node:events";
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import type { OnReadOpts, SocketConstructorOpts } from "node:net";
import { constants as osConstants } from "node:os";
import { dirname, resolve } from "node:path";
import { ReadStream } from "node:tty";
import { randomBytes } from "node:crypto";
import { ProcessEndedError, SpawnError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import { describe, forkMark, type Holders, type ProcessIdentity } from "./processes.js";
import type { ProcessSource } from "./source.js";
import { endLeftovers, HOLDER_GRACE_MS, terminateTree } from "./terminate.js";

interface NativePty {
  fork(
    file: string,
    args: string[],
    env: string[],
    cwd: string,
    cols: number,
    rows: number,
    uid: number,
    gid: number,
    utf8: boolean,
    helperPath: string,
    onExit: (code: number, signal: number) => void,
  ): { fd: number; pid: number; pty: string };
  resize(fd: number, cols: number, rows: number): void;
}

const require = createRequire(import.meta.url);
let native: { pty: NativePty; helper: string } | undefined;

/** node-pty's native module and its spawn helper, loaded once, the way node-pty itself finds them. */
function nativePty(): { pty: NativePty; helper: string } {
  if (!native) {
    const utils = require("node-pty/lib/utils.js") as { loadNativeModule(name: string): { dir: string; module: NativePty } };
    const loaded = utils.loadNativeModule("pty");
    const libDir = dirname(require.resolve("node-pty/lib/utils.js"));
    native = { pty: loaded.module, helper: resolve(libDir, loaded.dir, "spawn-helper") };
  }
  return native;
}

/** One read's room: the most a read of the master can take (Node's own reads ask for as much). */
const READ_BUFFER_BYTES = 64 * 1024;

const signalNames = new Map(Object.entries(osConstants.signals).map(([name, n]) => [n as number, name]));

export class PtySource extends EventEmitter implements ProcessSource {
  readonly identity: ProcessIdentity;
  readonly holders: Holders;
  readonly #masterFd: number;
  readonly #slaveFd: number;
  readonly #master: ReadStream;
  readonly #killGraceMs: number;
  readonly #keepLeftovers: boolean;
  /** forkMark() from before the fork: bounds where leftovers' pids can be. */
  readonly #forkMark = forkMark();
  readonly #sentinel = Buffer.from(`\x1b_quire-eof-${randomBytes(12).toString("hex")}\x1b\\`);
  /** Set once the sentinel is on its way: from then on output is scanned for it. */
  #sentinelSent = false;
  #sentinelWritten = 0;
  /** Set once the sentinel has been read: everything the command wrote is in. */
  #drained = false;
  #carry: Buffer = Buffer.alloc(0);
  #exit: [number | null, string | null] | undefined;
  #holderTimer: NodeJS.Timeout | undefined;
  /** Ending the holders of the terminal, once begun: the exit waits for it. */
  #endingHolders: Promise<void> = Promise.resolve();
  #masterClosed = false;
  #done = false;
  /** Ending what the command left, once asked after the exit (leftovers kept). */
  #endingLeftovers: Promise<void> | undefined;
  /** Called once nothing holds the terminal any more (leftovers kept). */
  #onReleased: (() => void) | undefined;

  constructor(file: string, args: readonly string[], options: ResolvedOptions) {
    super();
    const { pty, helper } = nativePty();
    const env = Object.entries(options.env).map(([k, v]) => `${k}=${v}`);
    let term: { fd: number; pid: number; pty: string };
    try {
      term = pty.fork(file, [...args], env, options.cwd, options.cols, options.rows, -1, -1, true, helper, (code, signal) =>
        this.#rootExited(signal ? null : code, signal ? (signalNames.get(signal) ?? `SIG${signal}`) : null),
      );
    } catch (error) {
      throw new SpawnError(file, error);
    }
    this.#masterFd = term.fd;
    // Opened before the event loop can read the master, so no EIO can be seen before we hold it.
    this.#slaveFd = openSync(term.pty, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
    this.holders = { tty: term.pty };
    this.identity = { pid: term.pid, startTime: describe(term.pid)?.startTime ?? "" };
    this.#killGraceMs = options.killGraceMs;
    this.#keepLeftovers = options.leftovers === "keep";
    // Every read lands in one buffer of ours and is copied out at its length (a PTY read is at most 4 KiB,
    // so the copy comes from Buffer's pool). Node's own reads allocate 64 KiB each and shrink it to the
    // read: under a step's flood those leave the malloc heap fragmented, and its RSS grew with the volume.
    const onread: OnReadOpts = {
      buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES),
      callback: (n, buffer) => {
        this.#onChunk(Buffer.from(buffer.subarray(0, n)));
        return true; // false would stop reading; pause() does that
      },
    };
    // Socket's constructor takes `onread` as connect() does (Node's types declare it for connect() only).
    this.#master = new ReadStream(term.fd, { onread } as SocketConstructorOpts);
    this.#master.resume();
    // EIO or end: nothing holds the slave any more, so no more output can come.
    this.#master.on("error", () => this.#onMasterGone());
    this.#master.on("end", () => this.#onMasterGone());
  }

  write(data: Buffer | string): Promise<void> {
    if (this.#done || this.#drained) return Promise.reject(new ProcessEndedError("write"));
    return new Promise((resolve, reject) => this.#master.write(data, (error) => (error ? reject(error) : resolve())));
  }

  resize(cols: number, rows: number): void {
    if (!this.#done) nativePty().pty.resize(this.#masterFd, cols, rows);
  }

  pause(): void {
    // Once the exit is reported nobody reads what leftovers write: a paused terminal would block them.
    if (!this.#done) this.#master.pause();
  }

  resume(): void {
    this.#master.resume();
  }

  #rootExited(exitCode: number | null, signal: string | null): void {
    this.#exit = [exitCode, signal];
    this.#sentinelSent = true;
    this.#writeSentinel();
  }

  #writeSentinel(): void {
    if (this.#drained) return;
    // The descriptor is non-blocking: written now, with no trip through the thread pool, or not at all.
    try {
      this.#sentinelWritten += writeSync(this.#slaveFd, this.#sentinel, this.#sentinelWritten);
    } catch {}
    // EAGAIN or a part: the reader is paused and the tty buffers are full; go on once it has read some.
    if (this.#sentinelWritten < this.#sentinel.length) setTimeout(() => this.#writeSentinel(), 10);
  }

  #onChunk(chunk: Buffer): void {
    // What kept leftovers write after the exit is not the command's output.
    if (this.#done) return;
    if (!this.#sentinelSent || this.#drained) return void this.emit("data", chunk);
    const data = this.#carry.length ? Buffer.concat([this.#carry, chunk]) : chunk;
    const at = data.indexOf(this.#sentinel);
    if (at < 0) {
      // Keep back what could be the start of a sentinel split across reads.
      const keep = Math.min(data.length, this.#sentinel.length - 1);
      if (data.length > keep) this.emit("data", data.subarray(0, data.length - keep));
      this.#carry = data.subarray(data.length - keep);
      return;
    }
    this.#carry = Buffer.alloc(0);
    if (at > 0) this.emit("data", data.subarray(0, at));
    const after = data.subarray(at + this.#sentinel.length);
    this.#drained = true;
    closeSync(this.#slaveFd);
    if (this.#keepLeftovers) return this.#exitKeepingLeftovers();
    // Output after the sentinel comes from leftovers still holding the terminal.
    if (after.length) this.emit("data", after);
    this.#holderTimer = setTimeout(() => (this.#endingHolders = this.#endHolders()), HOLDER_GRACE_MS);
  }

  /**
   * The terminal is still open: either unread output keeps it so (a paused reader: wait) or something
   * holds it (end it). One we may not signal, another user's, is not waited for.
   */
  async #endHolders(): Promise<void> {
    const survivors = await terminateTree(this.identity, this.holders, this.#killGraceMs, "holders");
    if (survivors > 0) this.#onMasterClosed();
  }

  /**
   * On EIO libuv has closed the master before this runs, and from that moment the pts number may go to
   * another process's new terminal: it stops naming our tree here, not later, so that a holder scan
   * finishing after this point cannot take that terminal's holders for ours. (Seen: two suites at once
   * signalled each other's node processes, which hold their own commands' slaves.)
   */
  #onMasterGone(): void {
    delete this.holders.tty;
    if (this.#keepLeftovers && this.#done) return this.#release();
    this.#onMasterClosed();
  }

  /** EIO or end on the master: nothing holds the terminal any more (or we stop waiting for it to be so). */
  #onMasterClosed(): void {
    if (!this.#exit || this.#masterClosed) return;
    this.#masterClosed = true;
    clearTimeout(this.#holderTimer);
    if (this.#carry.length) this.emit("data", this.#carry);
    // Leftovers that let go of the terminal may still be in the command's session: end them too. A holder
    // being killed closes its descriptors (and so the terminal) before it is dead: wait until it is.
    void Promise.all([this.#endingHolders, endLeftovers(this.identity, this.#forkMark, this.#killGraceMs)]).then(() => this.#finish());
  }

  /**
   * Everything the command wrote is in: its exit is reported now, and what it left is left running.
   * The master stays open (read, its output dropped, and not keeping the event loop alive) while
   * anything holds the terminal, so a leftover writing to it neither blocks nor gets EIO.
   */
  #exitKeepingLeftovers(): void {
    this.#done = true;
    this.#master.resume();
    this.#master.unref();
    const [exitCode, signal] = this.#exit!;
    this.emit("exit", exitCode, signal);
  }

  endLeftovers(): Promise<void> {
    this.#endingLeftovers ??= (async () => {
      // Asked right after the exit, the terminal may not have reported its end yet, as it does at once
      // when nothing holds it: give it the moment an exit gives it before looking for holders.
      if (!this.#masterClosed) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          this.#onReleased = resolve;
          timer = setTimeout(resolve, HOLDER_GRACE_MS);
        });
        clearTimeout(timer);
      }
      // Nothing holds the terminal: what is left is in its session or process group, which the pid
      // window usually proves empty without a scan of every process (terminate.ts).
      if (this.#masterClosed) return void (await endLeftovers(this.identity, this.#forkMark, this.#killGraceMs));
      // Its session and process group, and whatever holds its terminal, with their descendants.
      const survivors = await terminateTree(this.identity, this.holders, this.#killGraceMs, "leftovers");
      // One we may not signal (another user's) is not waited for: we let go of the terminal.
      if (survivors > 0) this.#release();
    })();
    return this.#endingLeftovers;
  }

  /** Nothing of the command holds its terminal any more, or we stop waiting for it to be so. */
  #release(): void {
    if (this.#masterClosed) return;
    this.#masterClosed = true;
    // From here the pts number may go to another terminal.
    delete this.holders.tty;
    this.#master.destroy();
    this.#onReleased?.();
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    // From here the pts number may go to another terminal (if it has not already: #onMasterGone).
    delete this.holders.tty;
    if (!this.#drained) closeSync(this.#slaveFd);
    this.#master.destroy();
    const [exitCode, signal] = this.#exit!;
    this.emit("exit", exitCode, signal);
  }
}
