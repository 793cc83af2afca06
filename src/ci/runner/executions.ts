// The runs executing in this backend: each started from its record on the shared slots, with its
// secrets, step environment and sandbox (whose warnings become the run's annotations), and kept until
// nothing of it runs any more, when its workspace goes (or is kept, for a failed run) and its scratch
// directory (its jobs' /tmp, its caches) goes.
import { existsSync, readdirSync } from "node:fs";
import type { DependencyCaches } from "../cache/dependency-caches.js";
import type { JobResults } from "../cache/job-results.js";
import { RunCaches, type RunCachesOptions } from "../cache/run-caches.js";
import { remoteCacheOf, type RemoteCacheSettings } from "../cache/remote-config.js";
import { RemoteResults } from "../cache/remote-results.js";
import { join } from "node:path";
import { ANNOTATION_MAX, SUMMARY_MAX } from "../rules.js";
import type { RunRecord, RunStore } from "../store/index.js";
import type { StoredSecrets } from "../stored-secrets.js";
import { removeTree } from "../workspace/remove-tree.js";
import { isGitSnapshot } from "../workspace/snapshot.js";
import type { Workspaces } from "../workspace/workspaces.js";
import type { MarkedLeftovers } from "./leftovers.js";
import { RunExecution } from "./run-execution.js";
import { hasEnded } from "./run-queries.js";
import { RunSandbox } from "./run-sandbox.js";
import type { Sandbox } from "./sandbox.js";
import type { Slots } from "./slots.js";
import type { StepEnvironment } from "./step-environment.js";
import type { StepLauncher } from "./step-launcher.js";
import type { JobGroups } from "./concurrency-groups.js";

export interface ExecutionsOptions {
  store: RunStore;
  slots: Slots;
  workspaces: Workspaces;
  /** Directory the store's relative log paths are under. */
  logDir: string;
  secrets: StoredSecrets;
  environment: StepEnvironment;
  launcher: StepLauncher;
  sandbox: Sandbox;
  /** Holds a directory per executing run: its jobs' /tmp and its caches, in the sandbox. */
  scratchRoot: string;
  leftovers(runId: number): MarkedLeftovers;
  /** The dependency caches and the job results kept (QUIRE_HOME/cache), shared by every run. */
  caches: { dependencies: DependencyCaches; results: JobResults };
  /** The configuration's remote cache (cache.remote-*), for the pipelines that do not name their own. */
  remoteCache?: RemoteCacheSettings;
  /** Writes a warning to the daemon's log. */
  warn?(message: string, fields: Record<string, unknown>): void;
  /** Called after every recorded change of run `runId`. */
  changed(runId: number): void;
  /** Workflow jobs' concurrency groups, shared by every run. */
  jobGroups: JobGroups;
  /** Called once run `runId` has nothing running here any more (its concurrency group's next run may start). */
  ended?(runId: number): void;
}

/** What a run submitted to this backend brings along; a run queued again after a restart opens them anew. */
export interface RunSession {
  /** The values of the secrets its jobs name. */
  secrets: Map<string, string>;
}

interface Executing {
  execution: RunExecution;
  /** Kept for the run's life: annotations are redacted with them too. */
  secrets: readonly string[];
}

export class Executions {
  readonly #options: ExecutionsOptions;
  readonly #executing = new Map<number, Executing>();
  readonly #settled = new Map<number, Promise<void>>();

  constructor(options: ExecutionsOptions) {
    this.#options = options;
  }

  get count(): number {
    return this.#executing.size;
  }

  /** Runs whose end is still being settled here (their workspace released, their scratch removed). */
  get settling(): number {
    return this.#settled.size;
  }

  /** Runs executing now. */
  ids(): number[] {
    return [...this.#executing.keys()];
  }

  /** Starts pending run `id` (a run in any other state is left as it is). */
  start(id: number, session?: RunSession): void {
    try {
      this.#start(id, session);
    } catch (error) {
      // The store refused a write (a full disk): the run fails, the caller (a submit, a backend starting) goes on.
      void this.#failInternal(id, `quire could not start this run: ${(error as Error).message}`);
    }
  }

  #start(id: number, session: RunSession | undefined): void {
    const { store, workspaces } = this.#options;
    const run = store.getRun(id);
    if (!run || run.state !== "pending" || this.#executing.has(id)) return;
    const workspace = workspaces.path(id);
    if (!existsSync(workspace)) {
      void this.#failInternal(id, "its workspace was lost before it started (quired stopped while preparing it); run it again");
      return;
    }
    let secrets = session?.secrets;
    try {
      secrets ??= this.#options.secrets.open(run.spec.jobs.flatMap((j) => j.secrets));
    } catch (error) {
      void this.#failInternal(id, (error as Error).message);
      return;
    }
    const leftovers = this.#options.leftovers(id);
    const secretValues = [...secrets.values()];
    const scratch = join(this.#options.scratchRoot, String(id));
    const recorded = store.runSnapshot(id);
    const sandbox = new RunSandbox({
      launcher: this.#options.launcher,
      sandbox: this.#options.sandbox,
      pipeline: run.spec,
      workspace,
      snapshot: isGitSnapshot(recorded) ? recorded : null,
      scratch,
      warn: (job, text) => {
        store.annotate(id, job, null, text, Date.now());
        this.#options.changed(id);
      },
    });
    // A workflow's steps start at the repository's root; quire.yml's in the pipeline file's directory.
    const dir = run.spec.kind === "github" ? "." : run.workspace;
    const changed = () => this.#options.changed(id);
    const execution = new RunExecution({
      store,
      slots: this.#options.slots,
      runId: id,
      pipeline: run.spec,
      baseDir: join(workspace, dir),
      logDir: this.#options.logDir,
      environment: this.#options.environment.forRun({ runId: id, pipeline: run.spec, secrets, jobKey: (job) => leftovers.jobKey(job) }),
      secrets: secretValues,
      launcher: sandbox,
      leftovers,
      changed,
      now: Date.now,
      jobGroups: this.#options.jobGroups,
      caches: new RunCaches({
        store,
        ...this.#options.caches,
        remote: this.#remoteOf(run),
        warn: this.#options.warn,
        runId: id,
        repo: run.repo,
        pipeline: run.spec,
        baseDir: join(workspace, dir),
        dir,
        // Only a git workspace becomes a spare, where what is kept waits for the next run.
        kept: isGitSnapshot(recorded) ? workspaces.keptOutputs(id) : undefined,
        useResults: !run.noCache,
        changed,
        now: Date.now,
      }),
      ...(run.spec.kind === "github"
        ? {
            workflowRun: {
              runId: id,
              workspace,
              tempRoot: join(scratch, "runner"),
              repository: run.repo,
              ref: run.ref,
              sha: run.commit ?? "",
              workflow: run.spec.name,
            },
            secretsByName: secrets,
          }
        : {}),
    });
    this.#executing.set(id, { execution, secrets: secretValues });
    const done = sandbox
      .prepare()
      .then(() => execution.execute())
      .catch((error: unknown) => this.#failInternal(id, `quire failed while running this pipeline: ${(error as Error).message}`))
      // biome-ignore lint/nursery/noMisusedPromises: finally waits for the promise its callback returns, as the clean-up needs
      .finally(async () => {
        this.#executing.delete(id);
        const state = store.getRun(id)?.state;
        // A run still pending (the daemon is stopping) keeps its workspace: the next daemon runs it.
        if (state !== undefined && hasEnded(state)) await workspaces.release(id, state === "failed").catch(() => {});
        await removeTree(scratch).catch(() => {});
        this.#settled.delete(id);
        this.#options.ended?.(id);
      });
    this.#settled.set(id, done);
  }

  /**
   * The remote cache run `run` shares its job results on, if its pipeline or the configuration names one;
   * when a secret it needs is not set, none, and an annotation of the run says so.
   */
  #remoteOf(run: RunRecord): RunCachesOptions["remote"] {
    const config = remoteCacheOf(run.spec, this.#options.remoteCache);
    if (config === null) return undefined;
    const { signatureKeySecret: keySecret } = config;
    let secrets: Map<string, string>;
    try {
      secrets = this.#options.secrets.open(keySecret === null ? [config.tokenSecret] : [config.tokenSecret, keySecret]);
    } catch (error) {
      const text = `quire: the remote cache at ${config.url} is not used: ${(error as Error).message}`;
      this.#options.warn?.("remote cache: not used", { run: run.id, error: (error as Error).message });
      this.#options.store.annotate(run.id, null, null, text.slice(0, ANNOTATION_MAX), Date.now());
      return undefined;
    }
    const results = new RemoteResults({
      config,
      token: secrets.get(config.tokenSecret)!,
      signatureKey: keySecret === null ? null : secrets.get(keySecret)!,
      store: this.#options.store,
      results: this.#options.caches.results,
      logDir: this.#options.logDir,
      now: Date.now,
    });
    return { results, run: { repo: run.repo, ref: run.ref, pipeline: run.spec, workspace: run.workspace } };
  }

  /** Removes the scratch directories of the runs not executing here: what a previous daemon left. */
  removeLeftScratch(): void {
    let names: string[];
    try {
      names = readdirSync(this.#options.scratchRoot);
    } catch {
      return; // none yet
    }
    for (const name of names)
      if (!this.#executing.has(Number(name))) void removeTree(join(this.#options.scratchRoot, name)).catch(() => {});
  }

  /** Ends every step's tree of run `id`, if it executes here; the caller has recorded why. */
  async stop(id: number): Promise<void> {
    await this.#executing.get(id)?.execution.stop();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.#executing.values()].map((e) => e.execution.stop()));
  }

  /** The secret values of run `id` while it executes here (none otherwise). */
  secretsOf(id: number): readonly string[] {
    return this.#executing.get(id)?.secrets ?? [];
  }

  /** Resolves once run `id` has nothing running (immediately for a run not executing here). */
  settled(id: number): Promise<void> {
    return this.#settled.get(id) ?? Promise.resolve();
  }

  async allSettled(): Promise<void> {
    await Promise.all(this.#settled.values());
  }

  /** Fails run `id` as quire's own failure and ends what of it runs. Never throws: it runs where nobody would catch. */
  #failInternal(id: number, why: string): Promise<void> {
    try {
      if (this.#options.store.finishRun(id, { state: "failed", kind: "internal", summary: why.slice(0, SUMMARY_MAX) }, Date.now()))
        this.#options.changed(id);
    } catch {
      // Not even the store's reserve had room (something else is filling the disk): the run stays active
      // until the next daemon records it orphaned. Its steps still end.
    }
    return this.stop(id)
      .catch(() => {})
      .then(() => this.#options.ended?.(id));
  }
}
