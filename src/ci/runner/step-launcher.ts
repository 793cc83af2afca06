import type { WorkflowCommand } from "../output/workflow-commands.js";
import type { Job } from "../pipeline/model.js";
import type { Confinement } from "./sandbox.js";

// How an execution starts a step and what it gets back, so the scheduler never knows how a step runs:
// PtyStepLauncher (pty-step-launcher.ts) runs it in a PTY through quire/runtime; the scheduler's tests
// give a fake whose end they decide.

/** One step to run, as the execution asks for it. */
export interface StepRequest {
  /** The name of the job the step is of. */
  job: string;
  /** The step's `run` text. */
  script: string;
  cwd: string;
  /** The whole environment: the step inherits nothing else. */
  env: Record<string, string>;
  /** The step's own limit; null: none. */
  timeoutMs: number | null;
  /** Absolute path of the step's log file. */
  logFile: string;
  /** Values to redact from the log and the tail. */
  secrets: readonly string[];
  /** For a workflow's step: called with each workflow command it prints (a mask is also applied at once). */
  onWorkflowCommand?: (command: WorkflowCommand) => void;
  /** Directories besides the workspace the step writes to (a workflow's runner files), for a sandbox to give it. */
  writable?: readonly string[];
  /** Where the step runs in the sandbox (sandbox.ts); absent: unconfined. Set per run by RunSandbox. */
  confinement?: Confinement;
}

/** How a step's process ended, as its launcher saw it. Why the execution stopped it, if it did, is the execution's to add. */
export interface StepExit {
  exitCode: number | null;
  signal: string | null;
  /** The step's own timeout ended it. */
  timedOut: boolean;
  /** The last output, redacted. */
  tail: Buffer;
  /** Could not start at all (a missing working directory, no shell): the reason. */
  startError: string | null;
  /** quire itself failed while the step ran (its log could not be written) and stopped it: the reason. */
  internalError: string | null;
}

/**
 * A step a launcher started. What it starts in the background (a server for the job's next steps) is
 * left running when it ends, until its job's attempt ends and the execution calls endLeftovers().
 */
export interface LaunchedStep {
  /** Resolves once the step's shell has exited, all its output is in and its log is closed. */
  readonly result: Promise<StepExit>;
  /** Ends the step's whole tree; resolves once it has exited. Harmless after the end, and when called twice. */
  stop(): Promise<void>;
  /** Once it has ended: ends what it left running; resolves once that has gone. Harmless when called twice. */
  endLeftovers(): Promise<void>;
}

export interface StepLauncher {
  launch(request: StepRequest): LaunchedStep;
  /** Jobs a run has gained as it runs (a matrix's legs, known once their job was ready): their steps are launched too. */
  jobsAdded?(jobs: readonly Job[]): void;
}
