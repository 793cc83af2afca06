// The launcher the ci backend runs steps with: each step in a PTY through quire/runtime (StepProcess),
// niced, in a strict shell (shell.ts).
import { stepCommand } from "./shell.js";
import type { LaunchedStep, StepLauncher, StepRequest } from "./step-launcher.js";
import { StepProcess } from "./step-process.js";

export class PtyStepLauncher implements StepLauncher {
  readonly #niceness: number;
  readonly #killGraceMs: number;

  constructor(options: { niceness: number; killGraceMs: number }) {
    this.#niceness = options.niceness;
    this.#killGraceMs = options.killGraceMs;
  }

  launch(request: StepRequest): LaunchedStep {
    // The one place a step's command line is made: a sandbox around steps wraps this command.
    const command = stepCommand(request.script, this.#niceness);
    return StepProcess.start({ ...request, command, killGraceMs: this.#killGraceMs });
  }
}
