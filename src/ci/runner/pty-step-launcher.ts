// The launcher the ci backend runs steps with: each step in a PTY through quire/runtime (StepProcess),
// niced, in a strict shell (shell.ts), in the sandbox when its request says where (sandbox.ts).
import type { Sandbox } from "./sandbox.js";
import { stepCommand } from "./shell.js";
import type { LaunchedStep, StepLauncher, StepRequest } from "./step-launcher.js";
import { StepProcess } from "./step-process.js";

export class PtyStepLauncher implements StepLauncher {
  readonly #niceness: number;
  readonly #killGraceMs: number;
  readonly #sandbox: Sandbox;

  constructor(options: { niceness: number; killGraceMs: number; sandbox: Sandbox }) {
    this.#niceness = options.niceness;
    this.#killGraceMs = options.killGraceMs;
    this.#sandbox = options.sandbox;
  }

  launch(request: StepRequest): LaunchedStep {
    // The one place a step's command line is made.
    const { confinement } = request;
    const confine = confinement && ((shell: string[]) => this.#sandbox.wrap(shell, confinement, request.cwd, request.env));
    const command = stepCommand(request.script, this.#niceness, confine);
    return StepProcess.start({ ...request, command, killGraceMs: this.#killGraceMs });
  }
}
