// A step's environment, each layer over the one before: the daemon's environment with quirectl first on
// PATH, QUIRE_HOME, the run's id and CI=true; the pipeline's, the job's and the step's `env`; the secrets
// the job names; and what quire says about the step itself (QUIRE_JOB, QUIRE_STEP, the key its leftovers
// are found by). QUIRE_RUN_TOKEN, the step's own, is added over all of it as the step starts
// (RunExecution), so that no `env` can set it.
import type { Job, Pipeline, Step } from "../pipeline/model.js";
import { JOB_KEY_ENV } from "./leftovers.js";

export interface StepEnvironmentOptions {
  /** The daemon's environment, read as each run starts (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Directory holding the quirectl launcher, put first on steps' PATH. */
  binDir: string;
  /** Set as QUIRE_HOME so quirectl inside a step reaches this daemon. */
  home: string | undefined;
}

/** What one run adds to every step's environment. */
export interface RunIdentity {
  runId: number;
  pipeline: Pipeline;
  /** Secret values by name, for the jobs that name them. */
  secrets: ReadonlyMap<string, string>;
  /** The QUIRE_CI_JOB_KEY of a job's steps. */
  jobKey(job: string): string;
}

export class StepEnvironment {
  readonly #options: StepEnvironmentOptions;

  constructor(options: StepEnvironmentOptions) {
    this.#options = options;
  }

  forRun(run: RunIdentity): RunEnvironment {
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(this.#options.env ?? process.env)) if (value !== undefined) env[name] = value;
    const { binDir, home } = this.#options;
    const pathKey = process.platform === "win32" ? (Object.keys(env).find((k) => k.toUpperCase() === "PATH") ?? "Path") : "PATH";
    const sep = process.platform === "win32" ? ";" : ":";
    env[pathKey] = env[pathKey] ? `${binDir}${sep}${env[pathKey]}` : binDir;
    if (home) env.QUIRE_HOME = home;
    env.QUIRE_RUN_ID = String(run.runId);
    env.CI = "true";
    return new RunEnvironment(env, run);
  }
}

/** The environment of each step of one run. */
export class RunEnvironment {
  readonly #base: Readonly<Record<string, string>>;
  readonly #run: RunIdentity;

  constructor(base: Record<string, string>, run: RunIdentity) {
    this.#base = base;
    this.#run = run;
  }

  forStep(job: Job, step: Step): Record<string, string> {
    return {
      ...this.#base,
      ...this.#run.pipeline.env,
      ...job.env,
      ...step.env,
      ...Object.fromEntries(job.secrets.map((name) => [name, this.#run.secrets.get(name) ?? ""])),
      QUIRE_JOB: job.name,
      QUIRE_STEP: step.name,
      [JOB_KEY_ENV]: this.#run.jobKey(job.name),
    };
  }
}
