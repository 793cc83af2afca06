// The ci backend's run manager: takes submissions (parse, snapshot, workspace, record), runs them on
// shared slots, cancels and supersedes, keeps secrets, and on start settles what a previous daemon left.
import { EventEmitter } from "node:events";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { CiError, CiShuttingDownError, RunNotFoundError, RunTokenError, SecretMissingError } from "../errors.js";
import { MIN_SECRET_BYTES, redactString } from "../output/redact.js";
import type { Pipeline } from "../pipeline/model.js";
import { parsePipeline } from "../pipeline/parse.js";
import { MAX_SECRET_BYTES, SecretBox } from "../secrets.js";
import type { RunStore, RunView, StepView } from "../store/index.js";
import { materialize } from "../workspace/checkout.js";
import { snapshotSource } from "../workspace/snapshot.js";
import { Workspaces } from "../workspace/workspaces.js";
import { MarkedLeftovers } from "./leftovers.js";
import { PtyStepLauncher } from "./pty-step-launcher.js";
import { RunExecution } from "./run-execution.js";
import { hashRunToken, mintRunToken } from "./run-token.js";
import { DEFAULT_NICENESS } from "./shell.js";
import { Slots } from "./slots.js";
import { StepEnvironment } from "./step-environment.js";

const SECRET_NAME = /^[A-Z_][A-Z0-9_]*$/;

const TERMINAL = new Set(["complete", "failed", "cancelled", "superseded"]);

export interface RunnerOptions {
  store: RunStore;
  /** QUIRE_HOME or the data directory: holds logs/, work/ and secret.key. */
  dataDir: string;
  logDir: string;
  /** Set in steps' environment so quirectl inside a step reaches this daemon. */
  home: string | undefined;
  /** Directory holding the quirectl launcher, put first on steps' PATH. */
  binDir: string;
  /** Jobs running at once (default: the number of cores). */
  concurrency?: number;
  niceness?: number;
  killGraceMs?: number;
  /** Failed runs whose workspaces are kept for inspection. */
  keepFailedWorkspaces?: number;
  env?: NodeJS.ProcessEnv;
}

/** Events: `changed` (run id) after every recorded change of a run. */
export class Runner extends EventEmitter {
  readonly #options: RunnerOptions;
  readonly #store: RunStore;
  readonly #slots: Slots;
  readonly #secretBox: SecretBox;
  readonly #workspaces: Workspaces;
  readonly #environment: StepEnvironment;
  readonly #launcher: PtyStepLauncher;
  readonly #executions = new Map<number, RunExecution>();
  readonly #settled = new Map<number, Promise<void>>();
  /** Run tokens and secret values of the runs started here, for their steps' environment. */
  readonly #tokens = new Map<number, string>();
  readonly #secretsByRun = new Map<number, Map<string, string>>();
  #closing = false;

  constructor(options: RunnerOptions) {
    super();
    // One listener per watching client: there is no leak to warn about at eleven.
    this.setMaxListeners(0);
    this.#options = options;
    this.#store = options.store;
    this.#slots = new Slots(options.concurrency ?? availableParallelism());
    this.#secretBox = SecretBox.open(join(options.dataDir, "secret.key"));
    this.#workspaces = new Workspaces(join(options.dataDir, "work"), options.keepFailedWorkspaces ?? 3);
    this.#environment = new StepEnvironment({ env: options.env, binDir: options.binDir, home: options.home });
    this.#launcher = new PtyStepLauncher({ niceness: options.niceness ?? DEFAULT_NICENESS, killGraceMs: options.killGraceMs ?? 2_000 });
  }

  /** Settles what a previous daemon left: active runs become orphaned, pending runs queue again. */
  start(): void {
    const { orphaned, requeued } = this.#store.recoverAfterCrash(Date.now());
    for (const id of orphaned) {
      // A backend killed outright could not end its steps; whatever of them still runs ends now.
      void this.#leftovers(id).endRun();
      void this.#workspaces.release(id, true);
    }
    this.#removeHalfMadeWorkspaces();
    for (const id of requeued) this.#launch(id);
  }

  get activeRuns(): number {
    return this.#executions.size;
  }

  get runningJobs(): number {
    return this.#slots.inUse;
  }

  /** Parses, snapshots and records a run, starts it, and returns it as recorded (pending or later). */
  async submit(file: string, text: string, overrides: { repo?: string; ref?: string } = {}): Promise<RunView> {
    if (this.#closing) throw new CiShuttingDownError();
    const path = resolve(file);
    const pipeline = parsePipeline(text, path);
    const secrets = this.#secretsFor(pipeline);
    const snapshot = await snapshotSource(dirname(path), { skip: [this.#options.dataDir] });
    const sourceRoot = snapshot.kind === "git" ? snapshot.repo : snapshot.dir;
    // Made aside and renamed into place once the run exists, so a crash never leaves a half-made workspace under a run.
    const staging = join(this.#workspaces.root, `.staging-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    try {
      await materialize(snapshot, staging, { skip: [this.#options.dataDir] });
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    const { token, hash } = mintRunToken();
    const { run, superseded } = this.#store.createRun(
      {
        repo: overrides.repo || sourceRoot,
        ref: overrides.ref || (snapshot.kind === "git" ? snapshot.ref : ""),
        pipeline,
        commit: snapshot.kind === "git" ? snapshot.commit : null,
        tree: snapshot.kind === "git" ? snapshot.tree : null,
        dirty: snapshot.kind === "git" ? snapshot.dirty : false,
        // Where the steps run: the workspace's copy of the directory holding the pipeline file.
        workspace: relative(sourceRoot, dirname(path)) || ".",
        tokenHash: hash,
      },
      Date.now(),
    );
    renameSync(staging, this.#workspaces.path(run.id));
    for (const old of superseded) {
      this.emit("changed", old);
      void this.#executions.get(old)?.stop();
    }
    this.#tokens.set(run.id, token);
    this.#secretsByRun.set(run.id, secrets);
    this.emit("changed", run.id);
    this.#launch(run.id);
    return this.get(run.id);
  }

  get(id: number): RunView {
    const run = this.#store.getRun(id);
    if (!run) throw new RunNotFoundError(id);
    return run;
  }

  list(limit = 50): RunView[] {
    return this.#store.listRuns(limit);
  }

  isLive(id: number): boolean {
    const state = this.#store.runState(id);
    if (state === undefined) throw new RunNotFoundError(id);
    return !TERMINAL.has(state);
  }

  /** A job's `n`th step, counting every attempt's steps in order (as RunView lists them). */
  stepAt(id: number, job: string, n: number): StepView | undefined {
    return this.#store.stepOfJob(id, job, n);
  }

  /**
   * Whether a job is still to run or running: until it ends it may add steps (a retry records the next
   * attempt's only once the failed attempt's leftovers are gone); false when there is no such job.
   */
  isJobLive(id: number, job: string): boolean {
    const state = this.#store.jobState(id, job);
    return state === "pending" || state === "active";
  }

  /** Whether a step (of this attempt) is still to run or running; false when there is no such step. */
  isStepLive(id: number, job: string, attempt: number, index: number): boolean {
    const state = this.#store.stepState(id, job, attempt, index);
    return state === "pending" || state === "active";
  }

  /** Ends every step's tree. A finished run stays as it was. */
  async cancel(id: number): Promise<RunView> {
    this.get(id);
    if (this.#store.finishRun(id, { state: "cancelled" }, Date.now())) this.emit("changed", id);
    await this.#executions.get(id)?.stop();
    return this.get(id);
  }

  /** A step's call back: `token` names a live run; the text is kept with the job and step that wrote it. */
  annotate(token: string, text: string, job: string, step: string): void {
    const runId = this.#store.runForToken(hashRunToken(token));
    if (runId === undefined) throw new RunTokenError();
    const secrets = [...(this.#secretsByRun.get(runId)?.values() ?? [])];
    // Where it came from is the step's own say (QUIRE_JOB, QUIRE_STEP): a label, not a proof.
    this.#store.annotate(runId, job || null, job ? step || null : null, redactString(text, secrets), Date.now());
    this.emit("changed", runId);
  }

  setSecret(name: string, value: string): void {
    if (!SECRET_NAME.test(name)) throw new CiError("QUIRE_ERR_SECRET_NAME", `secret name "${name}" is not allowed: use capitals, digits and _, not starting with a digit`);
    const bytes = Buffer.byteLength(value);
    if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) {
      throw new CiError("QUIRE_ERR_SECRET_VALUE", `secret ${name} must be ${MIN_SECRET_BYTES} bytes to 64 KiB (shorter could not be redacted from logs; longer would not fit a step's environment); it is ${bytes}`);
    }
    const { nonce, box } = this.#secretBox.seal(value);
    this.#store.putSecret(name, nonce, box, Date.now());
  }

  secretNames(): string[] {
    return this.#store.secretNames();
  }

  removeSecret(name: string): void {
    if (!this.#store.deleteSecret(name)) throw new SecretMissingError(name);
  }

  /** Resolves once run `id` has nothing running (immediately for a run not executing here). */
  settled(id: number): Promise<void> {
    return this.#settled.get(id) ?? Promise.resolve();
  }

  /**
   * The daemon is going away: active runs end as orphaned and their trees are ended. Pending runs stay
   * pending, and the next daemon runs them.
   */
  async shutdown(): Promise<void> {
    this.#closing = true;
    const summary = "quired stopped while this run was active; its steps were ended. Run it again with quirectl run";
    for (const id of this.#executions.keys()) {
      if (this.#store.getRun(id)?.state !== "active") continue;
      if (this.#store.finishRun(id, { state: "failed", kind: "orphaned", summary }, Date.now())) this.emit("changed", id);
    }
    await Promise.all([...this.#executions.values()].map((e) => e.stop()));
    await Promise.all(this.#settled.values());
  }

  #launch(id: number): void {
    const run = this.#store.getRun(id);
    if (!run || run.state !== "pending") return;
    const pipeline = run.spec;
    const workspace = this.#workspaces.path(id);
    if (!existsSync(workspace)) {
      this.#failInternal(id, "its workspace was lost before it started (quired stopped while preparing it); run it again");
      return;
    }
    let token = this.#tokens.get(id);
    if (token === undefined) {
      // A run queued again after a restart gets a new token: only the hash of the old one was kept.
      const minted = mintRunToken();
      token = minted.token;
      this.#store.setToken(id, minted.hash);
    }
    let secrets = this.#secretsByRun.get(id);
    try {
      secrets ??= this.#secretsFor(pipeline);
    } catch (error) {
      this.#failInternal(id, (error as Error).message);
      return;
    }
    // Kept for the run's life: annotations are redacted with them too.
    this.#secretsByRun.set(id, secrets);
    const leftovers = this.#leftovers(id);
    const execution = new RunExecution({
      store: this.#store,
      slots: this.#slots,
      runId: id,
      pipeline,
      baseDir: join(workspace, run.workspace),
      logDir: this.#options.logDir,
      environment: this.#environment.forRun({ runId: id, token, pipeline, secrets, jobKey: (job) => leftovers.jobKey(job) }),
      secrets: [...secrets.values()],
      launcher: this.#launcher,
      leftovers,
      changed: () => this.emit("changed", id),
      now: Date.now,
    });
    this.#executions.set(id, execution);
    const done = execution
      .execute()
      .catch((error: unknown) => this.#failInternal(id, `quire failed while running this pipeline: ${(error as Error).message}`))
      .finally(async () => {
        this.#executions.delete(id);
        this.#tokens.delete(id);
        this.#secretsByRun.delete(id);
        const state = this.#store.getRun(id)?.state;
        // A run still pending (the daemon is stopping) keeps its workspace: the next daemon runs it.
        if (state !== undefined && TERMINAL.has(state)) await this.#workspaces.release(id, state === "failed").catch(() => {});
        this.#settled.delete(id);
      });
    this.#settled.set(id, done);
  }

  #failInternal(id: number, why: string): void {
    if (this.#store.finishRun(id, { state: "failed", kind: "internal", summary: why.slice(0, 600) }, Date.now())) this.emit("changed", id);
    void this.#executions.get(id)?.stop();
  }

  #secretsFor(pipeline: Pipeline): Map<string, string> {
    const values = new Map<string, string>();
    for (const name of new Set(pipeline.jobs.flatMap((j) => j.secrets))) {
      const sealed = this.#store.getSecret(name);
      if (!sealed) throw new SecretMissingError(name);
      values.set(name, this.#secretBox.open(sealed.nonce, sealed.box));
    }
    return values;
  }

  #leftovers(id: number): MarkedLeftovers {
    return new MarkedLeftovers(this.#options.dataDir, id, this.#options.killGraceMs ?? 2_000);
  }

  #removeHalfMadeWorkspaces(): void {
    mkdirSync(this.#workspaces.root, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(this.#workspaces.root)) {
      if (name.startsWith(".staging-")) rmSync(join(this.#workspaces.root, name), { recursive: true, force: true });
    }
  }
}

