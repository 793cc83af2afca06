// quirectl logs: the bytes of a run's step logs. Which steps (a --step without --job is looked for in
// every job, and refused when several have it), and a header before each step's bytes when more than one
// step is printed (--raw: the bytes alone, as `cat` of the log files would give).
import type { CiJob, CiLogChunk, CiRun } from "../gen/quire/v1/ci.js";
import { withCi } from "./ci.js";
import { JobNotFoundError, StepAmbiguousError, StepNotFoundError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { commandLine, visible } from "./output.js";

export interface LogsArgs extends GlobalArgs {
  id: number;
  job?: string;
  step?: string;
  follow: boolean;
  raw: boolean;
}

export async function showLogs(args: LogsArgs): Promise<number> {
  return withCi(args, async (ci) => {
    const run = await ci.get(args.id);
    const job = jobOfStep(run, args.job, args.step);
    const count = stepsSelected(run, job, args.step);
    // Piped, one step's log is its bytes; in a terminal, a job's or the run's are headed even if only
    // one step has output yet.
    const header = args.raw ? undefined : new StepHeaders(run, count > 1 || (process.stdout.isTTY === true && args.step === undefined));
    let printed = false;
    const end = await ci.logs(args.id, { job, step: args.step, follow: args.follow }, (chunk) => {
      header?.before(chunk);
      // On purpose as they are: a log is its step's bytes, escape sequences and all (what `cat` of the
      // log file gives). Only the headers quirectl adds are made visible.
      process.stdout.write(chunk.data);
      header?.wrote(chunk.data);
      printed ||= chunk.data.length > 0;
    });
    // Nothing at all would look like a lost log: say why there is none.
    if (!printed) process.stderr.write(`quirectl: ${nothingPrinted(end, job, args.step)}\n`);
    return ExitCode.Ok;
  });
}

/**
 * The job to ask for: `job` as given (checked), or for a `step` alone the one job that has it. A name the
 * run does not have, or a step several jobs have, is an error naming what the run has.
 */
function jobOfStep(run: CiRun, job: string | undefined, step: string | undefined): string | undefined {
  const id = Number(run.id);
  const list = (names: string[]) => [...new Set(names)].map(visible).join(", ") || "none";
  const jobs = job === undefined ? run.jobs : run.jobs.filter((j) => j.name === job);
  if (job !== undefined && jobs.length === 0) throw new JobNotFoundError(id, visible(job), list(run.jobs.map((j) => j.name)));
  if (step === undefined) return job;
  const having = jobs.filter((j) => j.steps.some((s) => s.name === step));
  if (having.length === 0)
    throw new StepNotFoundError(
      id,
      visible(step),
      job === undefined ? undefined : visible(job),
      list(jobs.flatMap((j) => j.steps.map((s) => s.name))),
    );
  if (having.length > 1) {
    const example = commandLine(["quirectl", "logs", String(id), "--job", having[0]!.name, "--step", step]);
    throw new StepAmbiguousError(id, visible(step), list(having.map((j) => j.name)), example);
  }
  return having[0]!.name;
}

/** Why the selection has no output: its steps have not started, were skipped, or printed nothing. */
function nothingPrinted(run: CiRun, job: string | undefined, step: string | undefined): string {
  const jobs = job === undefined ? run.jobs : run.jobs.filter((j) => j.name === job);
  const states = new Set(
    jobs.flatMap((j) => j.steps.filter((s) => s.attempt === j.attempt && (step === undefined || s.name === step)).map((s) => s.state)),
  );
  const what =
    step !== undefined ? `step ${visible(step)} of job ${visible(job!)}` : job !== undefined ? `job ${visible(job)}` : `run ${run.id}`;
  if (states.size === 1 && states.has("pending")) return `no output: ${what} has not started (--follow waits for it)`;
  if (states.size === 1 && states.has("skipped")) return `no output: ${what} was skipped`;
  return `no output: ${what} printed nothing`;
}

/** How many step logs (each attempt's its own) the selection holds in the run as recorded now. */
function stepsSelected(run: CiRun, job: string | undefined, step: string | undefined): number {
  const jobs = job === undefined ? run.jobs : run.jobs.filter((j) => j.name === job);
  return jobs.reduce((n, j) => n + j.steps.filter((s) => step === undefined || s.name === step).length, 0);
}

/**
 * `==> job / step (attempt 2) <==` before each step's bytes, made visible, on a line of its own and after
 * a blank line. Off at first for a selection of one step, and on from the moment a second one speaks (a
 * followed job's retry).
 */
class StepHeaders {
  #on: boolean;
  #last: string | undefined;
  #atLineStart = true;
  readonly #retried: Set<string>;

  constructor(run: CiRun, on: boolean) {
    this.#on = on;
    this.#retried = new Set(run.jobs.filter((j: CiJob) => j.attempt > 1).map((j) => j.name));
  }

  before(chunk: CiLogChunk): void {
    const key = `${chunk.job}\0${chunk.attempt}\0${chunk.step}`;
    if (key === this.#last) return;
    if (this.#last !== undefined) this.#on = true;
    const first = this.#last === undefined;
    this.#last = key;
    if (!this.#on) return;
    if (chunk.attempt > 1) this.#retried.add(chunk.job);
    const attempt = this.#retried.has(chunk.job) ? ` (attempt ${chunk.attempt})` : "";
    const gap = first ? "" : this.#atLineStart ? "\n" : "\n\n";
    process.stdout.write(`${gap}==> ${visible(chunk.job)} / ${visible(chunk.step)}${attempt} <==\n`);
    this.#atLineStart = true;
  }

  wrote(data: Uint8Array): void {
    if (data.length > 0) this.#atLineStart = data[data.length - 1] === 0x0a;
  }
}
