// The ci backend's runs, as its service sees them: Runner builds the parts and drives a run's life
// (submitted, started, superseded, cancelled, settled after a previous daemon, ended at shutdown); what
// the service asks besides goes to the part that knows it: reads to RunQueries, secrets to StoredSecrets,
// a step's call back to Annotations.
import { EventEmitter } from "node:events";
import { availableParallelism, homedir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { DependencyCaches } from "../cache/dependency-caches.js";
import { removeHalfSaved } from "../cache/entry-store.js";
import { withInputTrees } from "../cache/input-trees.js";
import { JobResults } from "../cache/job-results.js";
import type { RemoteCacheSettings } from "../cache/remote-config.js";
import { CiShuttingDownError, IdempotencyKeyError, NotRecordedError, RerunTreeGoneError } from "../errors.js";
import { keepRunTrees, missingTrees } from "../gc/run-trees.js";
import { readPipeline } from "../read-pipeline.js";
import { selectJobs, type JobSelection } from "../pipeline/select.js";
import { IDEMPOTENCY_KEY_MAX, KILL_GRACE_MS } from "../rules.js";
import { expandLocalActions } from "../workflow/local-actions.js";
import { SecretBox } from "../secrets.js";
import type { CreatedRun, NewRun, RunStore, RunView, StepView } from "../store/index.js";
import type { Pipeline } from "../pipeline/model.js";
import { StoredSecrets } from "../stored-secrets.js";
import { ObjectStores } from "../workspace/object-stores.js";
import { Workspaces } from "../workspace/workspaces.js";
import { Annotations } from "./annotations.js";
import { JobGroups, runConcurrency } from "./concurrency-groups.js";
import { Executions } from "./executions.js";
import { MarkedLeftovers } from "./leftovers.js";
import { recordedSnapshot, rerunPipeline } from "./rerun.js";
import { RunQueries } from "./run-queries.js";
import { DEFAULT_NICENESS } from "./shell.js";
import { Slots } from "./slots.js";
import { StepEnvironment } from "./step-environment.js";
import { PtyStepLauncher } from "./pty-step-launcher.js";
import { Sandbox } from "./sandbox.js";
import { TreeWatchers } from "../workspace/tree-watcher.js";
import { WorkspacePreparer, type StagedWorkspace } from "./workspace-preparer.js";

export interface RunnerOptions {
  store: RunStore;
  /** QUIRE_HOME or the data directory: holds logs/, work/, cache/ and secret.key. */
  dataDir: string;
  logDir: string;
  /** Set in steps' environment so quirectl inside a step reaches this daemon. */
  home: string | undefined;
  /** Directory holding the quirectl launcher, put first on steps' PATH. */
  binDir: string;
  /** The broker's socket: the one thing of quire's home besides binDir a sandboxed step reaches (for quirectl). */
  socket?: string;
  /** The bubblewrap program steps are sandboxed with (default: bwrap on PATH). */
  bwrap?: string;
  /** Jobs running at once (default: the number of cores). */
  concurrency?: number;
  niceness?: number;
  killGraceMs?: number;
  /** Failed runs whose workspaces are kept for inspection. */
  keepFailedWorkspaces?: number;
  env?: NodeJS.ProcessEnv;
  /** The configuration's remote cache (cache.remote-*), for pipelines that do not name their own. */
  remoteCache?: RemoteCacheSettings;
  /** Writes a warning to the daemon's log. */
  warn?(message: string, fields: Record<string, unknown>): void;
}

/** What a submit asks besides the pipeline: overrides, and what makes it safe to send again. */
export interface SubmitRequest {
  /** Instead of the source's repository and ref. */
  repo?: string;
  ref?: string;
  /** The client's name for the submission: a submit with a key seen before is answered with its run. */
  idempotencyKey?: string;
  /** ms since the epoch: the run is recorded before this moment or not at all. */
  deadline?: number;
  /** Only these jobs (and what they need), only these matrix legs (`quirectl run --job --matrix`). */
  selection?: JobSelection;
  /** What asked for the run (TRIGGER_NAME, rules.ts); default `manual`. */
  trigger?: string;
  /** Tell the run's end with a desktop notification: nobody waits on it. */
  notify?: boolean;
  /** A full commit id: run its tree rather than the working copy's (a git hook runs what was committed or pushed). */
  commit?: string;
  /** Run every job, even one whose inputs match a job that completed before (`quirectl run --no-cache`). */
  noCache?: boolean;
}

/** Events: `changed` (run id) after every recorded change of a run. */
export class Runner extends EventEmitter {
  readonly #store: RunStore;
  readonly #slots: Slots;
  readonly #workspaces: Workspaces;
  readonly #preparer: WorkspacePreparer;
  readonly #stores: ObjectStores;
  readonly #secrets: StoredSecrets;
  readonly #executions: Executions;
  readonly #queries: RunQueries;
  readonly #annotations: Annotations;
  readonly #leftovers: (runId: number) => MarkedLeftovers;
  /** Actions from other repositories, kept by `quirectl action add`. */
  readonly #actionsDir: string;
  /** Submissions being recorded, by idempotency key: the same key coming again waits for the first. */
  readonly #submitting = new Map<string, Promise<RunView>>();
  /** Dependency caches and kept job results. */
  readonly #cacheDir: string;
  #closing = false;

  constructor(options: RunnerOptions) {
    super();
    // One listener per watching client: there is no leak to warn about at eleven.
    this.setMaxListeners(0);
    const { store, dataDir } = options;
    const killGraceMs = options.killGraceMs ?? KILL_GRACE_MS;
    this.#store = store;
    this.#slots = new Slots(options.concurrency ?? availableParallelism());
    const stores = (this.#stores = new ObjectStores(join(dataDir, "git")));
    this.#workspaces = new Workspaces(join(dataDir, "work"), { keepFailed: options.keepFailedWorkspaces ?? 3, stores });
    // The watcher relies on inotify's guarantees (tree-watcher.ts); elsewhere fs.watch on every directory
    // is another mechanism (FSEvents streams on macOS), so a snapshot there stats every file.
    const watchers = process.platform === "linux" ? new TreeWatchers({ skip: [dataDir] }) : undefined;
    this.#preparer = new WorkspacePreparer(this.#workspaces, stores, [dataDir], watchers);
    this.#actionsDir = join(dataDir, "actions");
    this.#secrets = new StoredSecrets(store, SecretBox.open(join(dataDir, "secret.key")));
    this.#leftovers = (runId) => new MarkedLeftovers(dataDir, runId, killGraceMs);
    this.#cacheDir = join(dataDir, "cache");
    const env = options.env ?? process.env;
    const sandbox = new Sandbox(
      {
        // The person's session sockets ($XDG_RUNTIME_DIR) are hidden too: a socket is no file a read-only mount protects.
        hidden: [dataDir, ...(options.socket ? [dirname(options.socket)] : []), ...(env.XDG_RUNTIME_DIR ? [env.XDG_RUNTIME_DIR] : [])],
        // The quirectl launcher, and the actions kept by `quirectl action add`, which workflow steps run. Of
        // quire's object stores a step reads only those its workspace borrows from (RunSandbox).
        readable: [options.binDir, this.#actionsDir],
        sockets: options.socket ? [options.socket] : [],
        home: env.HOME || homedir(),
      },
      { bwrap: options.bwrap, env },
    );
    this.#executions = new Executions({
      store,
      slots: this.#slots,
      workspaces: this.#workspaces,
      logDir: options.logDir,
      secrets: this.#secrets,
      environment: new StepEnvironment({ env: options.env, binDir: options.binDir, home: options.home }),
      launcher: new PtyStepLauncher({ niceness: options.niceness ?? DEFAULT_NICENESS, killGraceMs, sandbox }),
      sandbox,
      scratchRoot: join(dataDir, "sandbox"),
      leftovers: this.#leftovers,
      caches: { dependencies: new DependencyCaches(this.#cacheDir), results: new JobResults(this.#cacheDir) },
      remoteCache: options.remoteCache,
      warn: options.warn,
      changed: (id) => this.emit("changed", id),
      jobGroups: new JobGroups(),
      ended: (id) => this.#admitNext(id),
    });
    this.#queries = new RunQueries(store);
    this.#annotations = new Annotations(store, (id) => this.#executions.secretsOf(id));
  }

  /** Settles what a previous daemon left: active runs become orphaned, pending runs queue again. */
  start(): void {
    const { orphaned, requeued } = this.#store.recoverAfterCrash(Date.now());
    for (const id of orphaned) {
      // A backend killed outright could not end its steps; whatever of them still runs ends now.
      void this.#leftovers(id).endRun();
      void this.#workspaces.release(id, true);
    }
    this.#preparer.removeHalfMade();
    removeHalfSaved(this.#cacheDir);
    // A run waiting its turn in its concurrency group starts once the one before it has ended.
    for (const id of requeued) if ((this.#store.turnInGroupOf(id) ?? id) === id) this.#executions.start(id);
    this.#executions.removeLeftScratch();
  }

  /** The runs' workspaces: retention removes the kept ones it is over its limits with. */
  get workspaces(): Workspaces {
    return this.#workspaces;
  }

  get activeRuns(): number {
    return this.#executions.count;
  }

  get runningJobs(): number {
    return this.#slots.inUse;
  }

  /** What the runner holds for runs, by what it is: each goes back to 0 once every run has ended and settled. */
  held(): Record<string, number> {
    return { executions: this.#executions.count, settling: this.#executions.settling, submitting: this.#submitting.size };
  }

  /**
   * Parses, snapshots and records a run, starts it, and returns it as recorded (pending or later). With
   * an idempotency key: the run recorded for it if there is one (in whatever state it is now), or the
   * answer of the submission with that key still being recorded; never a second run. With a deadline:
   * nothing is recorded at or after it (NotRecordedError), so a client that gave up can say so.
   */
  async submit(file: string, text: string, request: SubmitRequest = {}): Promise<RunView> {
    const { idempotencyKey: key, deadline } = request;
    if (key !== undefined) {
      if (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX) throw new IdempotencyKeyError(key.length, IDEMPOTENCY_KEY_MAX);
      const known = this.#store.runForIdempotencyKey(key);
      if (known !== undefined) return this.get(known);
      const recording = this.#submitting.get(key);
      if (recording !== undefined) return recording;
    }
    if (this.#closing) throw new CiShuttingDownError();
    if (deadline !== undefined && Date.now() >= deadline) throw new NotRecordedError(deadline);
    const recording = this.#record(resolve(file), text, request);
    if (key === undefined) return recording;
    this.#submitting.set(key, recording);
    const forget = () => this.#submitting.delete(key);
    recording.then(forget, forget);
    return recording;
  }

  async #record(path: string, text: string, request: SubmitRequest): Promise<RunView> {
    const read = selectJobs(readPipeline(text, path), request.selection ?? { jobs: [], matrix: {} });
    const secrets = this.#secrets.open(read.jobs.flatMap((j) => j.secrets));
    const snapshot = await this.#preparer.snapshot(dirname(path), request.commit || undefined);
    // The tree part of each job's inputs is read from the snapshot while it is checked out.
    const [checkout, withTrees] = await Promise.allSettled([
      this.#preparer.checkOut(snapshot),
      withInputTrees(read, snapshot, dirname(path)),
    ]);
    if (checkout.status === "rejected") throw checkout.reason;
    const staged = checkout.value;
    let pipeline: Pipeline;
    try {
      if (withTrees.status === "rejected") throw withTrees.reason;
      // A workflow's local actions are read from the run's own tree, now that it is checked out.
      pipeline = expandLocalActions(withTrees.value, staged.root, this.#actionsDir);
    } catch (error) {
      staged.discard();
      throw error;
    }
    const sourceRoot = snapshot.kind === "git" ? snapshot.repo : snapshot.dir;
    return this.#recordStaged(staged, secrets, request.deadline, {
      repo: request.repo || sourceRoot,
      ref: request.ref || (snapshot.kind === "git" ? snapshot.ref : ""),
      pipeline,
      // Where the steps run: the workspace's copy of the directory holding the pipeline file.
      workspace: relative(sourceRoot, dirname(path)) || ".",
      idempotencyKey: request.idempotencyKey,
      trigger: request.trigger || "manual",
      notify: request.notify ?? false,
      noCache: request.noCache ?? false,
    });
  }

  /**
   * Runs finished run `id`'s exact tree again, on the snapshot it recorded, with the pipeline as it had
   * it and under the same repository and ref (so it supersedes a live run of them); with `failedOnly`,
   * only its failed and cancelled jobs and the jobs that need them. The new run names `id` (rerunOf). Its
   * jobs may be served by the job cache as any run's are (the original's complete ones, say), unless `noCache`.
   */
  async rerun(id: number, options: { failedOnly?: boolean; noCache?: boolean } = {}): Promise<RunView> {
    if (this.#closing) throw new CiShuttingDownError();
    const source = this.get(id);
    const pipeline = rerunPipeline(source, options.failedOnly ?? false);
    const recorded = recordedSnapshot(source, this.#store.runSnapshot(id));
    const missing = await missingTrees(this.#stores, recorded);
    if (missing.length > 0) throw new RerunTreeGoneError(id, missing);
    const secrets = this.#secrets.open(pipeline.jobs.flatMap((j) => j.secrets));
    const staged = await this.#preparer.stageAgain(recorded);
    return this.#recordStaged(staged, secrets, undefined, {
      repo: source.repo,
      ref: source.ref,
      pipeline,
      workspace: source.workspace,
      trigger: "rerun",
      noCache: options.noCache ?? false,
      rerunOf: id,
    });
  }

  /** Lets go of the trees kept for runs the store no longer has (retention removed them). */
  forgetTrees(): Promise<void> {
    return this.#stores.forgetRuns((listed) => {
      const known = this.#store.runIds();
      return new Set(listed.filter((id) => !known.has(id)));
    });
  }

  // Records the run of a checkout made aside (superseding the live run of its repo, ref and pipeline),
  // moves the checkout into place, keeps its trees for as long as the run is kept, and starts it.
  async #recordStaged(
    staged: StagedWorkspace,
    secrets: Map<string, string>,
    deadline: number | undefined,
    input: Omit<NewRun, "commit" | "tree" | "dirty" | "snapshot">,
  ): Promise<RunView> {
    const { snapshot } = staged;
    let created: CreatedRun;
    try {
      const at = Date.now();
      if (deadline !== undefined && at >= deadline) throw new NotRecordedError(deadline);
      const { pipeline } = input;
      created = this.#store.createRun(
        {
          ...input,
          concurrency: (runId) =>
            runConcurrency(pipeline, {
              runId,
              workspace: this.#workspaces.path(runId),
              repository: input.repo,
              ref: input.ref,
              sha: (snapshot.kind === "git" ? snapshot.commit : null) ?? "",
              workflow: pipeline.name,
            }),
          commit: snapshot.kind === "git" ? snapshot.commit : null,
          tree: snapshot.kind === "git" ? snapshot.tree : null,
          dirty: snapshot.kind === "git" ? snapshot.dirty : false,
          snapshot: snapshot.kind === "git" ? snapshot : null,
        },
        at,
      );
    } catch (error) {
      staged.discard();
      throw error;
    }
    const { run, superseded, recordedBefore } = created;
    if (recordedBefore) {
      staged.discard();
      return this.get(run.id);
    }
    staged.place(run.id);
    // The workspace's own refs hold the trees meanwhile; one that could not be kept only means the run
    // cannot be run again once its workspace has gone.
    if (snapshot.kind === "git") void keepRunTrees(this.#stores, run.id, snapshot).catch(() => undefined);
    for (const old of superseded) {
      this.emit("changed", old);
      void this.#executions.stop(old);
    }
    this.emit("changed", run.id);
    // One waiting its turn in its concurrency group starts once the run in progress has ended (#admitNext);
    // so does one that cancelled it in progress, whose steps may still be in their kill grace.
    if (created.waits) this.#noteWaiting(run.id);
    else if (!this.#groupBusy(run.id)) this.#executions.start(run.id, { secrets });
    return this.get(run.id);
  }

  /** Says on a run waiting its turn (pending) whose turn it waits for; the note is only a courtesy. */
  #noteWaiting(id: number): void {
    const before = this.#store.turnInGroupOf(id);
    try {
      this.#store.annotate(
        id,
        null,
        null,
        `queued: run ${before} of the same concurrency group is in progress; this run starts once it ends`,
        Date.now(),
      );
    } catch {}
  }

  /** Run `id` has nothing running any more: the run waiting its turn in its concurrency group, if any, starts. */
  #admitNext(id: number): void {
    if (this.#closing) return;
    const next = this.#store.turnInGroupOf(id);
    if (next !== undefined && next !== id && !this.#groupBusy(next)) this.#executions.start(next);
  }

  /** Whether a run of run `id`'s concurrency group other than `id` still executes here (a superseded one ending). */
  #groupBusy(id: number): boolean {
    const group = this.#store.concurrencyGroupOf(id);
    if (group === undefined) return false;
    return this.#executions.ids().some((other) => other !== id && this.#store.concurrencyGroupOf(other) === group);
  }

  get(id: number): RunView {
    return this.#queries.get(id);
  }

  list(limit = 50): RunView[] {
    return this.#queries.list(limit);
  }

  isLive(id: number): boolean {
    return this.#queries.isLive(id);
  }

  /** A job's `n`th step, counting every attempt's steps in order (as RunView lists them). */
  stepAt(id: number, job: string, n: number): StepView | undefined {
    return this.#queries.stepAt(id, job, n);
  }

  /** Whether a job may still add steps (RunQueries.isJobLive). */
  isJobLive(id: number, job: string): boolean {
    return this.#queries.isJobLive(id, job);
  }

  isStepLive(id: number, job: string, attempt: number, index: number): boolean {
    return this.#queries.isStepLive(id, job, attempt, index);
  }

  /** Ends every step's tree. A finished run stays as it was. */
  async cancel(id: number): Promise<RunView> {
    this.get(id);
    if (this.#store.finishRun(id, { state: "cancelled" }, Date.now())) this.emit("changed", id);
    await this.#executions.stop(id);
    return this.get(id);
  }

  /** A step's call back: `token` names a running step; the text is kept with its run, job and step. */
  annotate(token: string, text: string): void {
    this.emit("changed", this.#annotations.add(token, text));
  }

  setSecret(name: string, value: string): void {
    this.#secrets.set(name, value);
  }

  secretNames(): string[] {
    return this.#secrets.names();
  }

  removeSecret(name: string): void {
    this.#secrets.remove(name);
  }

  /** Resolves once run `id` has nothing running (immediately for a run not executing here). */
  settled(id: number): Promise<void> {
    return this.#executions.settled(id);
  }

  /**
   * The daemon is going away: active runs end as orphaned and their trees are ended. Pending runs stay
   * pending, and the next daemon runs them.
   */
  async shutdown(): Promise<void> {
    this.#closing = true;
    const summary = "quired stopped while this run was active; its steps were ended. Run it again with quirectl run";
    for (const id of this.#executions.ids()) {
      if (this.#store.getRun(id)?.state !== "active") continue;
      try {
        if (this.#store.finishRun(id, { state: "failed", kind: "orphaned", summary }, Date.now())) this.emit("changed", id);
      } catch {
        // A full disk: the next daemon records it orphaned all the same. Stopping goes on.
      }
    }
    await this.#executions.stopAll();
    await this.#executions.allSettled();
    this.#preparer.close();
  }
}
