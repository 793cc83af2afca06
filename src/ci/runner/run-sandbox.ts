// Which of one run's steps run in the sandbox, and with what: a launcher in front of the real one that
// gives each step of a sandboxed job its confinement (the run's workspace, a /tmp per job and caches per
// run under the run's scratch directory, the job's `network`). A job that runs without the sandbox
// (`sandbox: false`, or none on this machine) gets a warning on the run; one that cannot run as asked
// (`network: false` without a sandbox, or no sandbox and a checkout whose symlinks lead out of it) has
// its steps refused with the reason, in their logs and the failure summary.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { StepLog } from "../output/log-file.js";
import type { Job, Pipeline } from "../pipeline/model.js";
import { findEscapingLinks, type EscapingLink } from "./escaping-links.js";
import type { Confinement, Sandbox, SandboxState } from "./sandbox.js";
import type { LaunchedStep, StepExit, StepLauncher, StepRequest } from "./step-launcher.js";
import { workspaceReads } from "./workspace-reads.js";
import type { GitSnapshot } from "../workspace/snapshot.js";

export interface RunSandboxOptions {
  launcher: StepLauncher;
  sandbox: Sandbox;
  pipeline: Pipeline;
  /** The run's workspace (its root, whatever directory the steps start in). */
  workspace: string;
  /** What the workspace was checked out from, as the run recorded it (null: a copied directory, or not recorded). */
  snapshot: GitSnapshot | null;
  /** The run's own directory for its jobs' /tmp and its caches; the caller removes it with the run. */
  scratch: string;
  /** Records a warning on the run: of a job, or (null) of the run as a whole. */
  warn(job: string | null, text: string): void;
}

export class RunSandbox implements StepLauncher {
  readonly #options: RunSandboxOptions;
  readonly #jobs: Map<string, { job: Job; index: number }>;
  #state: SandboxState = { available: false, reason: "the sandbox was not probed yet" };
  #links: EscapingLink[] = [];
  /** What the workspace's git reads outside it (workspace-reads.ts), shown read-only to sandboxed steps. */
  #reads: string[] = [];
  /** What was warned about already: each job once, and the run once. */
  readonly #warned = new Set<string | null>();

  constructor(options: RunSandboxOptions) {
    this.#options = options;
    this.#jobs = new Map(options.pipeline.jobs.map((job, index) => [job.name, { job, index }]));
  }

  /**
   * Before the first step: whether there is a sandbox; what the workspace's git reads outside it, if some
   * job runs in the sandbox; the checkout's escaping links, if some job runs without.
   */
  async prepare(): Promise<void> {
    this.#state = await this.#options.sandbox.state();
    const { jobs } = this.#options.pipeline;
    if (jobs.some((job) => this.#confined(job))) this.#reads = await workspaceReads(this.#options.workspace, this.#options.snapshot);
    // Looked for before any step ran: the links the checkout brought, not those a step made (a venv's bin/python).
    if (jobs.some((job) => !this.#confined(job))) this.#links = await findEscapingLinks(this.#options.workspace);
  }

  jobsAdded(jobs: readonly Job[]): void {
    for (const job of jobs) if (!this.#jobs.has(job.name)) this.#jobs.set(job.name, { job, index: this.#jobs.size });
  }

  launch(request: StepRequest): LaunchedStep {
    const { job, index } = this.#jobs.get(request.job)!;
    const confined = this.#confined(job);
    this.#warn(job, confined);
    const refusal = this.#refusal(job, confined);
    if (refusal) return refusedStep(request, refusal);
    if (!confined) return this.#options.launcher.launch(request);
    return this.#options.launcher.launch({ ...request, confinement: this.#confinement(job, index, request) });
  }

  #confined(job: Job): boolean {
    // `!== false`: a run recorded before these fields existed (requeued after an upgrade) is sandboxed too.
    return this.#state.available && job.sandbox !== false;
  }

  #warn(job: Job, confined: boolean): void {
    if (confined) return;
    if (job.sandbox === false && !this.#warned.has(job.name)) {
      this.#warned.add(job.name);
      this.#options.warn(
        job.name,
        `warning: job ${job.name} runs without the sandbox (sandbox: false): its steps can read and write everything you can, quire's home and other runs included`,
      );
    }
    if (job.sandbox !== false && !this.#state.available && !this.#warned.has(null)) {
      this.#warned.add(null);
      this.#options.warn(null, `warning: steps run without a sandbox: ${this.#unavailable()}; they can read and write everything you can`);
    }
  }

  #refusal(job: Job, confined: boolean): string | undefined {
    if (confined) return undefined;
    if (job.network === false)
      return `job ${job.name} asks for \`network: false\`, which needs the sandbox, and there is none: ${this.#unavailable()}`;
    if (this.#links.length === 0) return undefined;
    const links = this.#links.map((link) => `${link.path} -> ${link.target}`).join(", ");
    const way = job.sandbox === false ? "drop `sandbox: false` from the job" : `give steps a sandbox (${this.#unavailable()})`;
    return `the checkout holds symlinks that lead out of it (${links}); without the sandbox a step writing through one would change your file, so job ${job.name} does not run: remove the links from the tree, or ${way}`;
  }

  #unavailable(): string {
    return this.#state.available ? "" : this.#state.reason;
  }

  #confinement(job: Job, index: number, request: StepRequest): Confinement {
    const { scratch, workspace } = this.#options;
    // By the job's place in the pipeline: a workflow job's name may hold anything.
    const tmp = join(scratch, "tmp", String(index));
    const caches = { npm: join(scratch, "npm"), cache: join(scratch, "cache") };
    for (const dir of [tmp, caches.npm, caches.cache]) mkdirSync(dir, { recursive: true, mode: 0o700 });
    return { workspace, tmp, caches, writable: request.writable ?? [], readable: this.#reads, network: job.network !== false };
  }
}

/** A step that does not start: the reason in its log and as its start error. */
function refusedStep(request: StepRequest, why: string): LaunchedStep {
  const line = Buffer.from(`quire: ${why}\r\n`);
  const result = (async (): Promise<StepExit> => {
    try {
      const log = StepLog.open(request.logFile, request.secrets);
      log.write(line);
      await log.close();
    } catch {
      // The log could not be written: the start error still says why.
    }
    return { exitCode: null, signal: null, timedOut: false, tail: line, startError: why, internalError: null };
  })();
  const ended = () => result.then(() => undefined);
  return { result, stop: ended, endLeftovers: ended };
}
