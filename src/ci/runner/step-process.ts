// One step of one attempt: the command in a PTY, every byte (secrets redacted) into the step's log, the
// last output kept for the failure summary, and the end told as plain data.
import { spawn, type Subprocess } from "../../runtime/index.js";
import { StepLog } from "../output/log-file.js";
import { Redactor } from "../output/redact.js";
import { WorkflowCommandScanner, type WorkflowCommand } from "../output/workflow-commands.js";
import type { LaunchedStep, StepExit } from "./step-launcher.js";

/** Output kept for the summary: a terminal screen's worth, many times over. */
const TAIL_BYTES = 64 * 1024;

export interface StepProcessOptions {
  /** What runs: the step's shell command line (shell.ts). */
  command: { file: string; args: string[] };
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number | null;
  /** Absolute path of the log file. */
  logFile: string;
  /** Values to redact from the log and the tail. */
  secrets: readonly string[];
  killGraceMs: number;
  /** Workflow commands in the output, for a GitHub workflow's step (masks are applied here at once). */
  onWorkflowCommand?: (command: WorkflowCommand) => void;
}

export class StepProcess implements LaunchedStep {
  readonly result: Promise<StepExit>;
  readonly #handle: Subprocess | undefined;
  #internalError: string | null = null;

  private constructor(launch: StepProcessOptions) {
    const log = StepLog.open(launch.logFile);
    const redactor = new Redactor([...launch.secrets]);
    const tail = new TailBuffer(TAIL_BYTES);
    const keep = (bytes: Buffer) => {
      if (bytes.length === 0) return;
      tail.push(bytes);
      if (this.#internalError !== null) return;
      try {
        log.write(bytes);
      } catch (error) {
        // A log that cannot be written (a full disk, a vanished logs/) fails this step's run, not the backend.
        this.#internalError = `quire could not write the step's log, so it stopped the step: ${(error as Error).message}`;
        void this.stop();
      }
    };
    const { file, args } = launch.command;
    let handle: Subprocess;
    try {
      handle = spawn(file, args, {
        pty: true,
        cwd: launch.cwd,
        env: launch.env,
        inheritEnv: false,
        cols: 120,
        rows: 40,
        timeoutMs: launch.timeoutMs ?? undefined,
        killGraceMs: launch.killGraceMs,
        // The step's output lives in its log; the result need not hold it too.
        maxOutputBytes: 1,
      });
    } catch (error) {
      const why = `the step could not start: ${(error as Error).message}`;
      keep(Buffer.from(`quire: ${why}\r\n`));
      this.result = closeQuietly(log).then(() => ({ exitCode: null, signal: null, timedOut: false, tail: tail.bytes(), startError: why, internalError: this.#internalError }));
      return;
    }
    this.#handle = handle;
    const commands = launch.onWorkflowCommand && this.#commandScanner(launch.onWorkflowCommand, redactor);
    handle.on("data", (chunk: Buffer) => {
      // Commands first, so a value masked on this line is redacted from it too.
      commands?.push(chunk);
      keep(redactor.push(chunk));
    });
    this.result = handle.wait().then(async (r) => {
      commands?.end();
      keep(redactor.end());
      await closeQuietly(log);
      return {
        exitCode: r.exitCode,
        signal: r.signal,
        timedOut: r.timedOut === "wall",
        tail: tail.bytes(),
        startError: null,
        internalError: this.#internalError,
      };
    });
  }

  #commandScanner(onCommand: (command: WorkflowCommand) => void, redactor: Redactor): WorkflowCommandScanner {
    return new WorkflowCommandScanner((command) => {
      if (command.kind === "mask") redactor.add(command.value);
      onCommand(command);
    });
  }

  static start(launch: StepProcessOptions): StepProcess {
    return new StepProcess(launch);
  }

  /** Ends the step's whole tree. Resolves once it has exited. */
  async stop(): Promise<void> {
    await this.#handle?.kill();
  }
}

/** Closing a log whose writes failed may fail again; the step's outcome already says so. */
async function closeQuietly(log: StepLog): Promise<void> {
  try {
    await log.close();
  } catch {}
}

/** The last `limit` bytes of a stream. */
class TailBuffer {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size - this.#chunks[0]!.length >= this.#limit) this.#size -= this.#chunks.shift()!.length;
  }

  bytes(): Buffer {
    const all = Buffer.concat(this.#chunks);
    return all.length > this.#limit ? all.subarray(all.length - this.#limit) : all;
  }
}
