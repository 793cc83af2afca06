// quirectl's own failures (the client's and the broker's have theirs).
import { QuireError } from "../errors.js";

export abstract class CliError extends QuireError {}

/** quirectl exits 2 (ExitCode.Usage) for these: what was asked cannot be done as asked. */
export abstract class UsageError extends CliError {}

/** A bad argument, found by yargs or by args.ts: quirectl prints the message, points at --help and exits 2. */
export class ArgumentError extends UsageError {
  constructor(message: string) {
    super("QUIRE_ERR_USAGE", message);
  }
}

/** A pipeline file refused before anything runs (by quirectl's own check or the daemon's): quirectl prints it and exits 2. */
export class PipelineUsageError extends UsageError {
  constructor(message: string, cause?: unknown) {
    super("QUIRE_ERR_PIPELINE_INVALID", message, { cause });
  }
}

/** quire's configuration file is bad (SettingsError's message, placed at file:line:column): quirectl prints it and exits 2. */
export class ConfigUsageError extends UsageError {
  constructor(message: string, cause?: unknown) {
    super("QUIRE_ERR_CONFIG_INVALID", message, { cause });
  }
}

/** A hook file that git tracks is where quire's hook would go: quire never changes a tracked file. */
export class HookTrackedError extends CliError {
  constructor(
    readonly hook: string,
    readonly path: string,
    line: string,
  ) {
    super(
      "QUIRE_ERR_HOOK_TRACKED",
      `${path} is tracked by git, so quire will not change it; to run quire's ${hook} hook, add this line to it (and commit it):\n  ${line}`,
    );
  }
}

/** A hook could not be installed or removed: not a git work tree, or a file in the way. */
export class HookSetupError extends CliError {
  constructor(message: string, cause?: unknown) {
    super("QUIRE_ERR_HOOK_SETUP", message, { cause });
  }
}

/** `quirectl annotate` outside a pipeline step, where there is no run token to say which run. */
export class NotInStepError extends UsageError {
  constructor() {
    super("QUIRE_ERR_NOT_IN_STEP", "annotate works inside a pipeline step (QUIRE_RUN_TOKEN is not set)");
  }
}

/** Ctrl-C at the prompt for a secret's value. */
export class PromptCancelledError extends UsageError {
  constructor() {
    super("QUIRE_ERR_PROMPT_CANCELLED", "cancelled");
  }
}

/** `secret set NAME VALUE`: a value given on the command line, refused unread and never echoed back (it is in the shell's history already). */
export class SecretOnCommandLineError extends UsageError {
  constructor(readonly secret: string) {
    super(
      "QUIRE_ERR_SECRET_ON_COMMAND_LINE",
      `the value of secret ${secret} is read from stdin, never from the command line (ps and your shell's history would show it): printf %s "$VALUE" | quirectl secret set ${secret}, or quirectl secret set ${secret} < FILE (in a terminal, quirectl secret set ${secret} asks for it)`,
    );
  }
}

/** `daemon install` found a quired it would take the socket from: one not started by the login unit. */
export class LoginDaemonRunningError extends CliError {
  constructor(readonly socket: string) {
    super(
      "QUIRE_ERR_DAEMON_RUNNING",
      `a quired is already running on ${socket}, not started by the login unit: stop it first (quirectl daemon stop), then install again, so the unit can take over its socket`,
    );
  }
}

export class LoginUnsupportedError extends CliError {
  constructor(readonly platform: string) {
    super(
      "QUIRE_ERR_LOGIN_UNSUPPORTED",
      `starting quired at login is supported on Linux (systemd), macOS (launchd) and Windows (a logon task), not on ${platform}`,
    );
  }
}

export class LoginValueError extends CliError {
  constructor(
    readonly value: string,
    problem: string,
  ) {
    super("QUIRE_ERR_LOGIN_VALUE", `${JSON.stringify(value)} ${problem}; choose a home or PATH without it`);
  }
}

export class LoginCommandError extends CliError {
  constructor(
    readonly argv: readonly string[],
    problem: string,
    hint: string,
  ) {
    super("QUIRE_ERR_LOGIN_COMMAND", `${argv.join(" ")} failed: ${problem}; ${hint}`);
  }
}

/** `logs --job J`: the run has no job J. `jobs` are the names it has, as they are shown. */
export class JobNotFoundError extends CliError {
  constructor(
    readonly run: number,
    job: string,
    jobs: string,
  ) {
    super("QUIRE_ERR_JOB_NOT_FOUND", `run ${run} has no job ${job}; its jobs: ${jobs}`);
  }
}

/** `logs --step S`: the run (or the job named with it) has no step S. */
export class StepNotFoundError extends CliError {
  constructor(
    readonly run: number,
    step: string,
    job: string | undefined,
    steps: string,
  ) {
    super("QUIRE_ERR_STEP_NOT_FOUND", `run ${run} has no step ${step}${job === undefined ? "" : ` in job ${job}`}; its steps: ${steps}`);
  }
}

/** `logs --step S` without --job, where several jobs have a step S: quirectl exits 2 rather than guess. */
export class StepAmbiguousError extends UsageError {
  constructor(
    readonly run: number,
    step: string,
    jobs: string,
    example: string,
  ) {
    super("QUIRE_ERR_STEP_AMBIGUOUS", `jobs ${jobs} of run ${run} each have a step ${step}; name the job: ${example}`);
  }
}
