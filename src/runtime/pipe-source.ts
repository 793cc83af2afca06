// A command with pipes: stdout and stderr merged into one output stream, in arrival order. Pipes lose
// nothing; what can go wrong is a leftover process holding them open, so the exit waits for the
// leftovers to be ended and the pipes to close.
import { spawn, type ChildProcess } from "node:child_process";
import { EventEmitter } from "node:events";
import { fstatSync } from "node:fs";
import type { Readable } from "node:stream";
import { ProcessEndedError, SpawnError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import { describe, forkMark, type Holders, type ProcessIdentity } from "./processes.js";
import type { ProcessSource } from "./source.js";
import { endLeftovers, HOLDER_GRACE_MS, terminateTree } from "./terminate.js";

export class PipeSource extends EventEmitter implements ProcessSource {
  readonly identity: ProcessIdentity;
  readonly holders: Holders;
  readonly #child: ChildProcess;
  readonly #outputs: Readable[];

  constructor(file: string, args: readonly string[], options: ResolvedOptions) {
    super();
    let child: ChildProcess;
    // From before the spawn: bounds where leftovers' pids can be.
    const mark = forkMark();
    try {
      // detached: its own session and process group, so the tree can be found and ended as a whole.
      child = spawn(file, [...args], {
        cwd: options.cwd,
        env: options.env,
        detached: true,
        stdio: ["pipe", "pipe", "pipe"],
        windowsHide: true,
      });
    } catch (error) {
      throw new SpawnError(file, error);
    }
    if (child.pid === undefined) throw new SpawnError(file, "the OS gave it no pid");
    this.#child = child;
    this.#outputs = [child.stdout!, child.stderr!];
    this.identity = { pid: child.pid, startTime: describe(child.pid)?.startTime ?? "" };
    this.holders = { pipeInodes: this.#outputs.map(pipeInode).filter((i): i is string => i !== undefined) };
    for (const stream of this.#outputs) stream.on("data", (chunk: Buffer) => this.emit("data", chunk));
    child.stdin!.on("error", () => {}); // a command that exits without reading its input is not an error
    let exit: [number | null, string | null] = [null, null];
    let holderTimer: NodeJS.Timeout | undefined;
    /** Ending the pipes' holders, once begun: the exit waits for it (a holder closes its pipes before it is dead). */
    let endingHolders: Promise<void> = Promise.resolve();
    child.once("exit", (code, signal) => {
      exit = [code, signal];
      // Pipes still open a moment after the exit: unread output (a paused reader: wait) or a leftover
      // holding them: find it (an fd scan) and end it. One we may not signal, another user's, is not
      // waited for: we close our ends.
      holderTimer = setTimeout(() => {
        endingHolders = terminateTree(this.identity, this.holders, options.killGraceMs, "holders").then((survivors) => {
          if (survivors > 0) for (const stream of this.#outputs) stream.destroy();
        });
      }, HOLDER_GRACE_MS);
    });
    // "close" comes once the process has exited and every pipe has closed: all output is in.
    child.once("close", () => {
      clearTimeout(holderTimer);
      // Closed pipes' inodes get reused: they no longer identify our tree.
      delete this.holders.pipeInodes;
      // Leftovers that let go of the pipes may still be in the command's session: end them too.
      void Promise.all([endingHolders, endLeftovers(this.identity, mark, options.killGraceMs)]).then(() => this.emit("exit", ...exit));
    });
  }

  write(data: Buffer | string): Promise<void> {
    const stdin = this.#child.stdin!;
    if (stdin.destroyed || stdin.writableEnded) return Promise.reject(new ProcessEndedError("write"));
    return new Promise((resolve, reject) => stdin.write(data, (error) => (error ? reject(error) : resolve())));
  }

  resize(): void {
    // Pipes have no window size.
  }

  pause(): void {
    for (const stream of this.#outputs) stream.pause();
  }

  resume(): void {
    for (const stream of this.#outputs) stream.resume();
  }

  endLeftovers(): Promise<void> {
    // Pipes never keep leftovers (options.ts refuses it): they were ended before the exit.
    return Promise.resolve();
  }
}

/** The pipe's inode: both ends share it, so a process holding the other end is found by it (Linux). */
function pipeInode(stream: Readable): string | undefined {
  const fd = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (fd === undefined || fd < 0) return undefined;
  try {
    return String(fstatSync(fd).ino);
  } catch {
    return undefined;
  }
}
