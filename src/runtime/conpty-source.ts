// A command in a ConPTY on Windows, through node-pty's public API. Written and typechecked, not tested
// here (this machine is Linux). ConPTY renders output itself and has its own end-of-output behaviour;
// see native-notes/pty.md.
import { EventEmitter } from "node:events";
import { spawn as ptySpawn, type IPty } from "node-pty";
import { ProcessEndedError, SpawnError } from "./errors.js";
import type { ResolvedOptions } from "./options.js";
import type { Holders, ProcessIdentity } from "./processes.js";
import type { ProcessSource } from "./source.js";
import { terminateTree } from "./terminate.js";

export class ConptySource extends EventEmitter implements ProcessSource {
  readonly identity: ProcessIdentity;
  readonly holders: Holders = {};
  readonly #pty: IPty;
  readonly #killGraceMs: number;
  #done = false;
  #endingLeftovers: Promise<void> | undefined;

  constructor(file: string, args: readonly string[], options: ResolvedOptions) {
    super();
    try {
      this.#pty = ptySpawn(file, [...args], {
        cwd: options.cwd,
        env: options.env,
        cols: options.cols,
        rows: options.rows,
        encoding: null as unknown as string,
      });
    } catch (error) {
      throw new SpawnError(file, error);
    }
    this.identity = { pid: this.#pty.pid, startTime: "" };
    this.#killGraceMs = options.killGraceMs;
    this.#pty.onData((data) => {
      if (!this.#done) this.emit("data", Buffer.isBuffer(data) ? data : Buffer.from(data));
    });
    this.#pty.onExit(({ exitCode }) => {
      const ended =
        options.leftovers === "keep" ? Promise.resolve(0) : terminateTree(this.identity, this.holders, options.killGraceMs, "leftovers");
      void ended.then(() => {
        this.#done = true;
        this.emit("exit", exitCode, null);
      });
    });
  }

  write(data: Buffer | string): Promise<void> {
    if (this.#done) return Promise.reject(new ProcessEndedError("write"));
    this.#pty.write(typeof data === "string" ? data : data.toString("utf8"));
    return Promise.resolve();
  }

  resize(cols: number, rows: number): void {
    if (!this.#done) this.#pty.resize(cols, rows);
  }

  pause(): void {
    this.#pty.pause();
  }

  resume(): void {
    this.#pty.resume();
  }

  endLeftovers(): Promise<void> {
    this.#endingLeftovers ??= terminateTree(this.identity, this.holders, this.#killGraceMs, "leftovers").then(() => undefined);
    return this.#endingLeftovers;
  }
}
