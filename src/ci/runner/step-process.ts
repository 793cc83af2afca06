// One step of one attempt: the command in a PTY, every byte (secrets redacted) into the step's log, the
// last output kept for the failure summary, and the end told as plain data. What the step leaves
// running outlives it (the runtime keeps its leftovers) until endLeftovers() at its job's end.
import { dirname } from "node:path";
import { spawn, type Subprocess } from "../../runtime/index.js";
import { describeSpaceOf } from "../disk-space.js";
import { CUT_HEAD_BYTES, CUT_TAIL_BYTES, StepLog } from "../output/log-file.js";
import { StepOutput } from "../output/step-output.js";
import { TailBuffer } from "../../runtime/tail-buffer.js";
import type { WorkflowCommand } from "../output/workflow-commands.js";
import type { LaunchedStep, StepExit } from "./step-launcher.js";

/** Output kept for the summary: a terminal screen's worth, many times over. */
const TAIL_BYTES = 64 * 1024;
/** How long output may be quiet before bytes held back as a possible secret's beginning are released. */
const HELD_QUIET_MS = 50;

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
    const tail = new TailBuffer(TAIL_BYTES);
    let log: StepLog;
    let logFailed = false;
    /** After each write of the log, by the step's output or by the log itself: a failure stops the step. */
    const written = (error: unknown) => {
      if (error !== undefined) {
        // A log that cannot be written (a vanished logs/, an I/O error) fails this step's run, not the backend.
        logFailed = true;
        this.#stopFor(`quire could not write the step's log, so it stopped the step: ${(error as Error).message}`);
        return;
      }
      // The disk filled up: the log has cut itself (giving the room back), and the step, which would fill it
      // again, ends. What is free is measured now, after the cut.
      if (log.cut && this.#internalError === null) this.#stopFor(diskFullReason(launch.logFile));
    };
    try {
      log = StepLog.open(launch.logFile, [], (error) => !logFailed && written(error));
    } catch (error) {
      const why = `quire could not open the step's log, so it did not start the step: ${(error as Error).message}`;
      this.result = Promise.resolve({
        exitCode: null,
        signal: null,
        timedOut: false,
        tail: tail.bytes(),
        startError: null,
        internalError: why,
      });
      return;
    }
    const output = new StepOutput([...launch.secrets], launch.onWorkflowCommand);
    const keep = (bytes: Buffer) => {
      if (bytes.length === 0) return;
      tail.push(bytes);
      if (logFailed) return;
      let failure: unknown;
      try {
        log.write(bytes);
      } catch (error) {
        failure = error;
      }
      written(failure);
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
        leftovers: "keep",
      });
    } catch (error) {
      const why = `the step could not start: ${(error as Error).message}`;
      keep(Buffer.from(`quire: ${why}\r\n`));
      this.result = closeQuietly(log).then(() => ({
        exitCode: null,
        signal: null,
        timedOut: false,
        tail: tail.bytes(),
        startError: why,
        internalError: this.#internalError,
      }));
      return;
    }
    this.#handle = handle;
    // Bytes held back as the possible beginning of a secret go out once the output has been quiet a moment:
    // a prompt must not wait for output that will not come before the person answers it.
    let quiet: NodeJS.Timeout | undefined;
    handle.on("data", (chunk: Buffer) => {
      keep(output.push(chunk));
      if (output.holding) quiet = quiet ? quiet.refresh() : setTimeout(() => keep(output.flush()), HELD_QUIET_MS);
    });
    this.result = handle.wait().then(async (r) => {
      clearTimeout(quiet);
      keep(output.end());
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

  static start(launch: StepProcessOptions): StepProcess {
    return new StepProcess(launch);
  }

  /** quire itself cannot go on with the step: `why` becomes its internal error, and the step ends. */
  #stopFor(why: string): void {
    this.#internalError ??= why;
    void this.stop();
  }

  /** Ends the step's whole tree. Resolves once it has exited. */
  async stop(): Promise<void> {
    await this.#handle?.kill();
  }

  /** Ends what the ended step left running: its session, its process group, what holds its terminal. */
  async endLeftovers(): Promise<void> {
    await this.result;
    await this.#handle?.kill();
  }
}

/** Closing a log whose writes failed may fail again; the step's outcome already says so. */
async function closeQuietly(log: StepLog): Promise<void> {
  try {
    await log.close();
  } catch {}
}

/** Why a step whose log filled the disk was stopped: the file system, what is free on it, and what became of the log. */
function diskFullReason(logFile: string): string {
  const kib = (n: number) => `${n / 1024} KiB`;
  return `the disk filled up while the step ran, so quire stopped it and cut its log to its first ${kib(CUT_HEAD_BYTES)} and last ${kib(CUT_TAIL_BYTES)} (${describeSpaceOf(dirname(logFile))} now); free space there and run it again`;
}
