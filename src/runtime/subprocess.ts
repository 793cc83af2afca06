// The handle spawn() returns: output as events and as a stream with backpressure, input, resize,
// expect, timeouts, kill of the whole tree, and the result once every byte is in.
import { EventEmitter } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { Readable } from "node:stream";
import { debuglog } from "node:util";
import { Expecter, type ExpectMatch } from "./expect.js";
import type { ResolvedOptions } from "./options.js";
import { OutputCapture } from "./output.js";
import type { ProcessSource } from "./source.js";
import { killTree, terminateTree } from "./terminate.js";

export interface RunResult {
  /** The exit code, or null when a signal ended the process. */
  exitCode: number | null;
  /** The signal's name (e.g. "SIGKILL"), or null. */
  signal: string | null;
  /** All output (or its head and tail, past maxOutputBytes), decoded as UTF-8. */
  output: string;
  timedOut: false | "wall" | "idle";
  /** kill() was called. */
  killed: boolean;
  durationMs: number;
  outputBytes: number;
  droppedBytes: number;
}

/** NODE_DEBUG=quire prints each process's start, kill and exit. */
const debug = debuglog("quire");

/** Every Subprocess of this process whose exit is not yet reported: what killAll() ends. */
const unfinished = new Set<Subprocess>();

/** Every Subprocess that exited with its leftovers kept, until kill() ends them: killAll() ends them too. */
const keeping = new Set<Subprocess>();

/**
 * Events: `data` (Buffer) for each piece of output, in order; `exit` (RunResult) once, after the last `data`.
 */
export class Subprocess extends EventEmitter {
  readonly pid: number;
  readonly #source: ProcessSource;
  readonly #options: ResolvedOptions;
  readonly #capture: OutputCapture;
  readonly #expecter = new Expecter();
  readonly #started = performance.now();
  readonly #result: Promise<RunResult>;
  #log: WriteStream | undefined;
  #stream: Readable | undefined;
  #timedOut: false | "wall" | "idle" = false;
  #killed = false;
  #killing: Promise<number> | undefined;
  #exited = false;
  #wallTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  /** Why reading is paused: the stream's reader, the log file, or the caller. */
  readonly #pausedBy = new Set<"stream" | "log" | "caller">();

  constructor(source: ProcessSource, options: ResolvedOptions) {
    super();
    this.#source = source;
    this.#options = options;
    this.pid = source.identity.pid;
    this.#capture = new OutputCapture(options.maxOutputBytes);
    if (options.logFile) {
      this.#log = createWriteStream(options.logFile, { flags: "a" });
      this.#log.on("drain", () => this.#unpause("log"));
    }
    if (options.timeoutMs !== undefined) this.#wallTimer = setTimeout(() => this.#timeout("wall"), options.timeoutMs);
    this.#armIdle();
    source.on("data", (chunk: Buffer) => this.#onData(chunk));
    this.#result = new Promise((resolve) =>
      source.once("exit", (code: number | null, signal: string | null) => resolve(this.#finish(code, signal))),
    );
    unfinished.add(this);
  }

  /**
   * SIGKILL, with no grace, to the whole tree of every command this process spawned that has not yet
   * exited; resolves once they are all gone, with how many processes outlived it (another user's, which
   * we may not signal). For a process that is about to exit and must leave nothing behind, however long
   * the trees' own kill() would still take.
   */
  static async killAll(): Promise<number> {
    const survivors = await Promise.all([...unfinished, ...keeping].map((s) => s.#killNow()));
    return survivors.reduce((sum, n) => sum + n, 0);
  }

  /** How many commands this process runs now, and how many exited keeping leftovers not yet ended (for a backend's METRICS). */
  static tracked(): { running: number; keepingLeftovers: number } {
    return { running: unfinished.size, keepingLeftovers: keeping.size };
  }

  /** Resolves with the result once the process has exited and all its output is in. */
  wait(): Promise<RunResult> {
    return this.#result;
  }

  write(data: string | Buffer): Promise<void> {
    return this.#source.write(data);
  }

  resize(cols: number, rows: number): void {
    this.#source.resize(cols, rows);
  }

  /** Waits for output matching `pattern`; rejects with QUIRE_ERR_EXPECT_TIMEOUT or QUIRE_ERR_EXPECT_ENDED. */
  expect(pattern: string | RegExp, options: { timeoutMs?: number } = {}): Promise<ExpectMatch> {
    return this.#expecter.expect(pattern, options.timeoutMs);
  }

  /**
   * Ends the whole tree: interrupt, TERM, then KILL after killGraceMs. Resolves once it has exited. After
   * an exit that kept its leftovers, ends what the command left running (its session, its process group,
   * what holds its terminal) the same way.
   */
  async kill(): Promise<RunResult> {
    if (this.#exited && this.#options.leftovers === "keep") {
      await this.#source.endLeftovers();
      keeping.delete(this);
      return this.#result;
    }
    this.#killed = true;
    debug("runtime: kill pid %d", this.pid);
    this.#killing ??= terminateTree(this.#source.identity, this.#source.holders, this.#options.killGraceMs, "kill");
    await this.#killing;
    return this.#result;
  }

  #killNow(): Promise<number> {
    this.#killed = true;
    debug("runtime: kill pid %d at once", this.pid);
    return killTree(this.#source.identity, this.#source.holders, "kill-all");
  }

  /** Stops reading output until resume(): the command blocks once the kernel's buffers are full. */
  pause(): void {
    this.#pausedBy.add("caller");
    this.#source.pause();
  }

  resume(): void {
    this.#unpause("caller");
  }

  /** The output as a Readable: a slow reader pauses the command instead of growing memory. */
  get output(): Readable {
    this.#stream ??= new Readable({
      highWaterMark: 64 * 1024,
      read: () => this.#unpause("stream"),
    });
    return this.#stream;
  }

  #onData(chunk: Buffer): void {
    this.#armIdle();
    this.#capture.append(chunk);
    this.#expecter.feed(chunk);
    if (this.#log && !this.#log.write(chunk)) this.#pauseFor("log");
    if (this.#stream && !this.#stream.push(chunk)) this.#pauseFor("stream");
    this.emit("data", chunk);
  }

  #pauseFor(reason: "stream" | "log"): void {
    this.#pausedBy.add(reason);
    this.#source.pause();
  }

  #unpause(reason: "stream" | "log" | "caller"): void {
    if (this.#pausedBy.delete(reason) && this.#pausedBy.size === 0) this.#source.resume();
  }

  #armIdle(): void {
    if (this.#options.idleTimeoutMs === undefined) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#timeout("idle"), this.#options.idleTimeoutMs);
  }

  #timeout(kind: "wall" | "idle"): void {
    if (this.#timedOut) return;
    this.#timedOut = kind;
    debug("runtime: pid %d timed out (%s)", this.pid, kind);
    this.#killing ??= terminateTree(this.#source.identity, this.#source.holders, this.#options.killGraceMs, `timeout-${kind}`);
  }

  async #finish(exitCode: number | null, signal: string | null): Promise<RunResult> {
    this.#exited = true;
    unfinished.delete(this);
    if (this.#options.leftovers === "keep") keeping.add(this);
    clearTimeout(this.#wallTimer);
    clearTimeout(this.#idleTimer);
    this.#expecter.end();
    this.#stream?.push(null);
    if (this.#log) await new Promise<void>((resolve) => this.#log!.end(resolve));
    const result: RunResult = {
      exitCode,
      signal,
      output: this.#capture.toString(),
      timedOut: this.#timedOut,
      killed: this.#killed,
      durationMs: performance.now() - this.#started,
      outputBytes: this.#capture.totalBytes,
      droppedBytes: this.#capture.droppedBytes,
    };
    debug("runtime: pid %d exited (code %s, signal %s) after %d ms", this.pid, exitCode, signal, Math.round(result.durationMs));
    this.emit("exit", result);
    return result;
  }
}
