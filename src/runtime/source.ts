// What a running command looks like from inside the runtime, whether it runs in a PTY or with pipes.
import type { EventEmitter } from "node:events";
import type { Holders, ProcessIdentity } from "./processes.js";

/**
 * Events: `data` (Buffer) in order; then `exit` (exitCode: number | null, signal: string | null) once,
 * only after the process has exited, whatever was left of its tree has been ended, and every byte of
 * output has been emitted as `data`. With leftovers kept (the `leftovers` option), the exit comes once
 * the command's own output is in, leaving its tree as it is, and nothing more is emitted as `data`.
 */
export interface ProcessSource extends EventEmitter {
  readonly identity: ProcessIdentity;
  /** Processes holding these belong to the command's tree; cleared when the source closes them. */
  readonly holders: Holders;
  write(data: Buffer | string): Promise<void>;
  resize(cols: number, rows: number): void;
  /** Stops reading output: the command blocks when the kernel's buffers fill. */
  pause(): void;
  resume(): void;
  /** After the exit, with leftovers kept: ends what the command left running, then lets go of its terminal. */
  endLeftovers(): Promise<void>;
}
