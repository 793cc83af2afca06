// One run, from its workspace to its end: jobs start when what they need is complete (within the
// shared slots), a failed job skips its dependents while independent jobs go on, failed jobs retry, and
// the first failure becomes the run's failure_kind and failure_summary. Steps start through the injected
// launcher and what they leave behind ends through the injected killer, so this is the scheduling alone.
import { join } from "node:path";
import type { Job, Pipeline, Step } from "../pipeline/model.js";
import { stepLogPath, type RunStore } from "../store/index.js";
import { JobStates, type JobEnd } from "./job-states.js";
import type { LeftoverKiller } from "./leftovers.js";
import { runEnd, type StepFailure } from "./run-end.js";
import { mintRunToken } from "./run-token.js";
import type { Slots } from "./slots.js";
import type { RunEnvironment } from "./step-environment.js";
import type { LaunchedStep, StepLauncher } from "./step-launcher.js";
import { jobTimeoutOutcome, ownOutcome, passed } from "./step-outcome.js";
import { githubContext, WorkflowJob, type NeedResult, type PreparedStep, type WorkflowRun } from "./workflow-job.js";
import { resolveReadyJob, strategyContext, withJobReplaced, workflowInputs } from "../workflow/job-legs.js";
import { evaluateConcurrency, type EvaluatedConcurrency, type GroupPlace, type JobGroups } from "./concurrency-groups.js";
import { redactString } from "../output/redact.js";
import { keepStepSummary } from "../output/step-summary.js";
import { ANNOTATION_MAX } from "../rules.js";
import { annotationText, type WorkflowCommand } from "../output/workflow-commands.js";
import { restoreScript, type CacheStep } from "../cache/cache-step.js";
import type { DueSaves, RunCaches } from "../cache/run-caches.js";

export interface RunExecutionOptions {
  store: RunStore;
  slots: Slots;
  runId: number;
  pipeline: Pipeline;
  /** Where steps run: the workspace's copy of the pipeline file's directory. */
  baseDir: string;
  /** Directory the store's relative log paths are under. */
  logDir: string;
  /** Each step's environment. */
  environment: RunEnvironment;
  /** Every secret value of the run, redacted from logs and the failure summary. */
  secrets: readonly string[];
  launcher: StepLauncher;
  /** Ends what a job's steps left running out of their terminals' reach, after each attempt and on stop. */
  leftovers: LeftoverKiller;
  /** Called after every store write that changes the run. */
  changed(): void;
  now(): number;
  /** For a GitHub workflow's run: what its `github` context says of the run. */
  workflowRun?: WorkflowRun;
  /** Secret values by name, for a workflow's `secrets` context. */
  secretsByName?: ReadonlyMap<string, string>;
  /** The job cache and the dependency caches; without them every job runs and no cache is restored or saved. */
  caches?: RunCaches;
  /** The concurrency groups of workflow jobs, shared by the runs of this backend; without them a job's `concurrency` is not honoured. */
  jobGroups?: JobGroups;
}

/**
 * A workflow step ready to launch; when its expressions cannot be evaluated (fromJSON of text that is not
 * JSON, say), a command that says why and fails, so the step fails with the reason in its log.
 */
function prepareOrExplain(prepare: () => PreparedStep, env: Record<string, string>, cwd: string): PreparedStep {
  try {
    return prepare();
  } catch (error) {
    return failingStep(`quire: this step's expressions could not be evaluated: ${(error as Error).message}`, env, cwd);
  }
}

/** A step that prints why it fails, and fails: the reason is in its log and the run's failure summary. */
function failingStep(why: string, env: Record<string, string>, cwd: string): PreparedStep {
  return { skip: false, script: `printf '%s\\n' '${why.replace(/'/g, "'\\''")}' >&2; exit 1`, cwd, env };
}

const RESULT_WEIGHT: Record<NeedResult["result"], number> = { skipped: 0, success: 1, cancelled: 2, failure: 3 };

/** How one attempt of a job ended; a failed one says which step failed and how. */
type AttemptEnd =
  | { end: "complete"; outputs?: Record<string, string> }
  | { end: "stopped" }
  | { end: "cancelled" }
  | { end: "failed"; failure: StepFailure; outputs?: Record<string, string> };

/** A step this execution launched, and why the execution stopped it, if it did (the first reason wins). */
interface RunningStep {
  job: string;
  launched: LaunchedStep;
  stoppedFor?: StopReason;
}

/**
 * "fail-fast": another leg of the same matrix failed; "concurrency": a newer job of its concurrency group
 * with cancel-in-progress came. Either way the job is cancelled.
 */
type StopReason = "job-timeout" | "run" | "fail-fast" | "concurrency";

export class RunExecution {
  readonly #options: RunExecutionOptions;
  /** The run's pipeline as it is now: a workflow's jobs resolved once ready (a computed matrix's legs) replace theirs. */
  #pipeline: Pipeline;
  /** Workflow jobs that could not be resolved once ready (a computed matrix that is no mapping of lists), and why: they fail saying so. */
  readonly #unresolved = new Map<string, string>();
  readonly #running = new Set<RunningStep>();
  #stopped = false;
  #runStarted = false;
  #failure: StepFailure | undefined;
  /** Matrix jobs a leg of which failed with fail-fast: their other legs start no more steps. */
  readonly #failedFast = new Set<string>();
  /** Jobs a newer job of their concurrency group cancelled: they start no more steps. */
  readonly #groupCancelled = new Set<string>();
  /** The places this run's jobs hold or wait for in their concurrency groups, left when the run stops. */
  readonly #places = new Set<GroupPlace>();
  /** Values a workflow's steps masked (`::add-mask::`): redacted like secrets from then on. */
  readonly #masks: string[] = [];
  /** A workflow's ended jobs, by name: what `needs.<job>` tells the jobs after them. */
  readonly #needResults = new Map<string, NeedResult>();
  /** The inputs of the jobs that succeeded (complete or cached), by name: part of their dependents' inputs. */
  readonly #inputs = new Map<string, string | null>();
  /** The cached jobs, by name: putting back what they left, once, when a job that runs needs them. */
  readonly #cached = new Map<string, { putBack(): Promise<void>; done?: Promise<void> }>();

  constructor(options: RunExecutionOptions) {
    this.#options = options;
    this.#pipeline = options.pipeline;
  }

  /**
   * Runs the pipeline to its end and records it. Resolves when nothing of it runs any more. The run stays
   * pending (queued) until its first job gets a slot.
   */
  async execute(): Promise<void> {
    const { store, runId } = this.#options;
    const workflow = this.#options.workflowRun;
    const jobs = new JobStates(
      this.#pipeline.jobs,
      workflow && ((job) => WorkflowJob.shouldRun(this.#pipeline, job, this.#needsOf(job), workflow)),
    );
    const inFlight = new Map<string, Promise<void>>();
    while (!this.#stopped) {
      for (const job of jobs.skipBlocked()) {
        store.skipJob(runId, job.name, this.#options.now());
        this.#options.changed();
      }
      let replaced = false;
      for (const job of jobs.startReady()) {
        // A workflow job known only now (a computed matrix, a name using `needs`): what replaces it waits its turn.
        if (job.deferred && workflow && this.#resolve(job, jobs, workflow)) {
          replaced = true;
          continue;
        }
        inFlight.set(
          job.name,
          this.#runJob(job).then((end) => {
            jobs.end(job.name, end === "failed" && job.continueOnError ? "complete" : end);
            inFlight.delete(job.name);
            if (end === "failed" && !job.continueOnError && job.strategy?.failFast) this.#failFast(job, jobs);
          }),
        );
      }
      if (replaced) continue;
      if (inFlight.size === 0) break;
      await Promise.race(inFlight.values());
    }
    await Promise.all(inFlight.values());
    // The results uploaded to the remote cache are part of the run's work: its end waits, each upload bounded.
    await this.#options.caches?.shared();
    if (this.#stopped) return;
    // A job its concurrency group cancelled cancels its run, unless something failed.
    const end =
      this.#groupCancelled.size > 0 && !this.#failure
        ? { state: "cancelled" as const }
        : await runEnd(this.#failure, [...this.#options.secrets, ...this.#masks]);
    if (store.finishRun(runId, end, this.#options.now())) this.#options.changed();
  }

  /**
   * Ends every step's tree. The caller records why (cancelled, superseded, orphaned) before calling, so the
   * writes this run makes afterwards are late and move nothing.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const place of this.#places) place.leave();
    await Promise.all([...this.#running].map((step) => this.#stopStep(step, "run")));
    await this.#options.leftovers.endRun();
  }

  /**
   * Replaces a ready workflow job by what it resolves to (its matrix's legs, or itself named), in the store,
   * the pipeline and `jobs`; true when it was replaced. One that cannot be is kept in #unresolved and runs,
   * to fail saying why (the other jobs go on); one the store no longer has pending runs and stops.
   */
  #resolve(job: Job, jobs: JobStates, run: WorkflowRun): boolean {
    const ready = resolveReadyJob(job, this.#pipeline, { github: githubContext(run, job), needs: this.#needsOf(job) });
    if ("problem" in ready) {
      this.#unresolved.set(job.name, ready.problem);
      return false;
    }
    // A name made of an earlier job's outputs or a computed matrix may hold a secret: it goes to the store,
    // the listings and the log directories, so it is redacted as a step's name is.
    const secrets = [...this.#options.secrets, ...this.#masks];
    const resolved = ready.map((leg) => ({ ...leg, name: redactString(leg.name, secrets) }));
    const next = withJobReplaced(this.#pipeline, job.name, resolved);
    if (!this.#options.store.replaceJob(this.#options.runId, job.name, resolved, next)) return false;
    this.#pipeline = next;
    jobs.replace(job.name, next.jobs);
    this.#options.launcher.jobsAdded?.(resolved);
    this.#options.changed();
    return true;
  }

  /** One job, from its turn in its concurrency group (if it has one) to its end. */
  async #runJob(job: Job): Promise<JobEnd> {
    const place = this.#joinGroup(job);
    if (!place) return this.#runJobInTurn(job);
    this.#places.add(place);
    try {
      if (!(await place.turn) && !this.#stopped) return this.#cancelUnstarted(job);
      return this.#stopped ? "stopped" : await this.#runJobInTurn(job);
    } finally {
      place.leave();
      this.#places.delete(place);
    }
  }

  /** Joins the job's concurrency group, evaluated now that it is ready; null without one (or without groups). */
  #joinGroup(job: Job): GroupPlace | null {
    const run = this.#options.workflowRun;
    const groups = this.#options.jobGroups;
    if (!job.concurrency || !run || !groups) return null;
    let concurrency: EvaluatedConcurrency | null;
    try {
      concurrency = evaluateConcurrency(job.concurrency, {
        contexts: {
          github: githubContext(run, job),
          needs: this.#needsOf(job),
          matrix: job.matrix ?? {},
          strategy: strategyContext(job.strategy),
          vars: {},
          inputs: workflowInputs(this.#pipeline.on),
        },
      });
    } catch (error) {
      this.#unresolved.set(job.name, `its concurrency group could not be evaluated: ${(error as Error).message}`);
      return null;
    }
    if (!concurrency) return null;
    // Groups are a repository's, as on GitHub.
    return groups.join(`${run.repository}\0${concurrency.group}`, concurrency.cancelInProgress, () => this.#cancelForGroup(job.name));
  }

  /** A newer job of its concurrency group, with cancel-in-progress, wants the group: job `name` ends cancelled. */
  #cancelForGroup(name: string): void {
    this.#groupCancelled.add(name);
    for (const step of this.#running) if (step.job === name) void this.#stopStep(step, "concurrency");
  }

  /** A job that never started, cancelled: a newer job of its concurrency group took its turn. */
  #cancelUnstarted(job: Job): JobEnd {
    this.#groupCancelled.add(job.name);
    this.#needResults.set(job.name, { result: "cancelled", outputs: {} });
    if (this.#options.store.finishJob(this.#options.runId, job.name, "cancelled", null, this.#options.now())) this.#options.changed();
    return "stopped";
  }

  /** A job in its turn, from getting a slot to its end: its attempts, each retry recorded, until one completes or none is left. */
  async #runJobInTurn(job: Job): Promise<JobEnd> {
    const { store, runId, caches } = this.#options;
    // Its needs have ended here, so its inputs are known (when they all succeeded with inputs of their own).
    const inputs =
      caches?.inputsOf(
        job,
        job.needs.map((name) => ({ name, inputs: this.#inputs.get(name) ?? null })),
      ) ?? null;
    if (inputs !== null && (await this.#fromCache(job, inputs))) return "cached";
    const release = await this.#options.slots.acquire();
    try {
      if (this.#failedFast.has(job.group) && job.strategy) {
        // Another leg failed while this one waited for a slot.
        if (store.skipJob(runId, job.name, this.#options.now())) this.#options.changed();
        return "stopped";
      }
      if (this.#groupCancelled.has(job.name)) return this.#cancelUnstarted(job);
      if (this.#stopped || !this.#started() || !store.startJob(runId, job.name, this.#options.now())) return "stopped";
      this.#options.changed();
      await this.#putBackCachedNeeds(job);
      const due = (await caches?.restoreDependencies(job)) ?? [];
      let attempt = 1;
      for (;;) {
        const result = await this.#runAttempt(job, attempt, due);
        if (result.end === "stopped" || this.#stopped) return "stopped";
        if (result.end === "cancelled") {
          this.#needResults.set(job.name, { result: "cancelled", outputs: {} });
          store.finishJob(runId, job.name, "cancelled", null, this.#options.now());
          this.#options.changed();
          return "stopped";
        }
        if (result.end === "complete") {
          // Saved before the job is complete: a later job cached from it finds what it left.
          const kept = (await caches?.completed(job, due, inputs, result.outputs ?? {})) ?? false;
          if (this.#stopped) return "stopped";
          this.#needResults.set(job.name, { result: "success", outputs: result.outputs ?? {} });
          this.#inputs.set(job.name, inputs);
          store.finishJob(runId, job.name, "complete", 0, this.#options.now(), kept ? inputs : null);
          this.#options.changed();
          if (kept && inputs !== null) caches?.share(job, inputs);
          return "complete";
        }
        if (attempt > job.retries) {
          this.#needResults.set(job.name, { result: job.continueOnError ? "success" : "failure", outputs: result.outputs ?? {} });
          if (!job.continueOnError) this.#failure ??= result.failure;
          store.finishJob(runId, job.name, "failed", result.failure.outcome.exitCode || null, this.#options.now());
          this.#options.changed();
          return "failed";
        }
        const next = store.retryJob(runId, job.name, this.#options.now());
        if (next === undefined) return "stopped";
        attempt = next;
        this.#options.changed();
      }
    } finally {
      release();
    }
  }

  /** Gives the job the result of an earlier complete job of the same inputs, if there is one; false: it runs. */
  async #fromCache(job: Job, inputs: string): Promise<boolean> {
    const { store, runId } = this.#options;
    const cached = await this.#options.caches!.cachedResult(job, inputs);
    if (!cached || this.#stopped || !this.#started() || !store.cacheJob(runId, job.name, inputs, cached.runId, this.#options.now()))
      return false;
    this.#inputs.set(job.name, inputs);
    this.#needResults.set(job.name, { result: "success", outputs: cached.outputs });
    this.#cached.set(job.name, cached);
    this.#options.changed();
    return true;
  }

  /** What the cached jobs that `job` needs, directly or through others, left, back in the workspace before it runs. */
  async #putBackCachedNeeds(job: Job): Promise<void> {
    const byName = new Map(this.#pipeline.jobs.map((j) => [j.name, j]));
    const needed = new Set<string>();
    const visit = (name: string) => {
      if (needed.has(name)) return;
      needed.add(name);
      for (const need of byName.get(name)?.needs ?? []) visit(need);
    };
    for (const need of job.needs) visit(need);
    await Promise.all(
      [...needed].map((name) => {
        const cached = this.#cached.get(name);
        if (cached) cached.done ??= cached.putBack();
        return cached?.done;
      }),
    );
  }

  /** Moves the run from pending to active the first time one of its jobs starts; false if it has ended meanwhile. */
  #started(): boolean {
    if (this.#runStarted) return true;
    if (!this.#options.store.startRun(this.#options.runId, this.#options.now())) return false;
    this.#runStarted = true;
    this.#options.changed();
    return true;
  }

  /** The job's steps in order, within the job's time limit, until one fails; `due` gathers the caches to save at its end. */
  async #runAttempt(job: Job, attempt: number, due: DueSaves): Promise<AttemptEnd> {
    const { store, runId } = this.#options;
    let current: RunningStep | undefined;
    /** Every step this attempt launched: what they leave running lives until the attempt ends. */
    const launched: LaunchedStep[] = [];
    let timedOut = false;
    const timer =
      job.timeoutMs === null
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            if (current) void this.#stopStep(current, "job-timeout");
          }, job.timeoutMs);
    const workflow = this.#options.workflowRun
      ? new WorkflowJob({
          pipeline: this.#pipeline,
          job,
          run: this.#options.workflowRun,
          needs: this.#needsOf(job),
          secrets: this.#options.secretsByName ?? new Map(),
        })
      : undefined;
    // A workflow's job goes on after a failed step: later steps run only where their `if` says so.
    let failure: StepFailure | undefined;
    const unresolved = this.#unresolved.get(job.name);
    this.#options.leftovers.startJob(job.name);
    try {
      for (const [index, written] of job.steps.entries()) {
        let step = written;
        if (this.#stopped) return { end: "stopped" };
        // The job's time ran out between steps: the rest do not start (ending the job skips them).
        if (timedOut)
          return {
            end: "failed",
            failure: failure ?? { job: job.name, step: step.name, outcome: jobTimeoutOutcome(), timeoutMs: job.timeoutMs },
          };
        if (failure && !workflow) break;
        if ((job.strategy && this.#failedFast.has(job.group)) || this.#groupCancelled.has(job.name)) return { end: "cancelled" };
        const base = this.#options.environment.forStep(job, step);
        // A workflow step's name may use what only its start knows (`steps`, `env`, `runner`).
        const name = workflow ? redactString(workflow.stepName(step, base), [...this.#options.secrets, ...this.#masks]) : step.name;
        if (name !== step.name && store.nameStep(runId, job.name, attempt, index, name)) step = { ...step, name };
        const prepared =
          unresolved !== undefined
            ? failingStep(`quire: job ${job.group} cannot run: ${unresolved}`, base, this.#options.baseDir)
            : workflow && prepareOrExplain(() => workflow.prepare(step, index, base, this.#options.baseDir), base, this.#options.baseDir);
        if (prepared?.skip) {
          store.skipStep(runId, job.name, attempt, index, this.#options.now());
          this.#options.changed();
          continue;
        }
        if (!store.startStep(runId, job.name, attempt, index, this.#options.now())) return { end: "stopped" };
        this.#options.changed();
        const command = prepared ?? {
          script: step.run,
          cwd: join(this.#options.baseDir, step.workingDirectory ?? job.workingDirectory ?? "."),
          env: base,
          writable: undefined,
        };
        // An actions/cache step: the caches do its work, and its script says what they did.
        const script = "cache" in command ? await this.#cacheStep(command.cache, due) : command.script;
        if (this.#stopped) return { end: "stopped" };
        current = this.#launch(job, step, attempt, index, { script, cwd: command.cwd, env: command.env, writable: command.writable });
        launched.push(current.launched);
        const exit = await current.launched.result;
        this.#running.delete(current);
        const { stoppedFor } = current;
        current = undefined;
        if (stoppedFor === "run") return { end: "stopped" };
        if (stoppedFor === "fail-fast" || stoppedFor === "concurrency") return { end: "cancelled" };
        const outcome = stoppedFor === "job-timeout" ? jobTimeoutOutcome(exit) : ownOutcome(exit);
        const ok = passed(outcome);
        // A step that failed for another reason than its exit code (a timeout, its log) keeps no exit code of 0.
        const exitCode = !ok && outcome.exitCode === 0 ? null : outcome.exitCode;
        store.finishStep(runId, job.name, attempt, index, ok ? "complete" : "failed", exitCode, this.#options.now());
        this.#options.changed();
        const goesOn = unresolved === undefined && (workflow ? workflow.finish(step, ok, base) : ok);
        if (workflow) this.#keepSummary(workflow.summary(), job, attempt, index);
        // The steps after a failed one stay pending; ending the job (or retrying it) marks them skipped.
        if (!goesOn)
          failure ??= {
            job: job.name,
            step: step.name,
            outcome,
            timeoutMs: outcome.timedOut === "job" ? job.timeoutMs : outcome.timedOut === "step" ? step.timeoutMs : null,
          };
        // A job that could not be resolved has said why: its other steps do not run.
        if (unresolved !== undefined) break;
      }
      const outputs = workflow?.outputs(this.#options.environment.forStep(job, job.steps[0]!));
      return failure ? { end: "failed", failure, outputs } : { end: "complete", outputs };
    } finally {
      clearTimeout(timer);
      // What the attempt's steps started and left running ends with it: what is still in a step's
      // session or on its terminal, and what carries the job's key wherever it went. Then its runner
      // files go, which nothing writes into any more.
      await Promise.all([...launched.map((step) => step.endLeftovers()), this.#options.leftovers.endJob(job.name)]);
      workflow?.dispose();
    }
  }

  /** An actions/cache step's script, once the caches have done its work (without caches, nothing is found). */
  async #cacheStep(step: CacheStep, due: DueSaves): Promise<string> {
    return this.#options.caches ? this.#options.caches.step(step, due) : restoreScript(step, { hit: "miss" });
  }

  /** Starts a step the store has just recorded active, with a token of its own. */
  #launch(
    job: Job,
    step: Step,
    attempt: number,
    index: number,
    command: { script: string; cwd: string; env: Record<string, string>; writable?: readonly string[] },
  ): RunningStep {
    const { logDir, runId, store } = this.#options;
    // QUIRE_RUN_TOKEN acts for this step alone, and only while it runs (the store drops it as the step
    // ends); it goes over the whole environment, and is redacted from the step's output like a secret.
    const { token, hash } = mintRunToken();
    store.issueStepToken(runId, job.name, attempt, index, hash);
    const launched = this.#options.launcher.launch({
      job: job.name,
      ...command,
      ...(this.#options.workflowRun ? { onWorkflowCommand: (c: WorkflowCommand) => this.#workflowCommand(job, step, token, c) } : {}),
      env: { ...command.env, QUIRE_RUN_TOKEN: token },
      timeoutMs: step.timeoutMs,
      logFile: join(logDir, stepLogPath(runId, job.name, attempt, index)),
      secrets: [...this.#options.secrets, token],
    });
    const running: RunningStep = { job: job.name, launched };
    this.#running.add(running);
    return running;
  }

  /** A workflow step's GITHUB_STEP_SUMMARY, beside its log; one that cannot be written is not worth failing the run for. */
  #keepSummary(text: string, job: Job, attempt: number, index: number): void {
    try {
      keepStepSummary(join(this.#options.logDir, stepLogPath(this.#options.runId, job.name, attempt, index)), text, [
        ...this.#options.secrets,
        ...this.#masks,
      ]);
    } catch {}
  }

  /** A mask applies to the rest of the run; an error, warning or notice becomes an annotation of the step. */
  #workflowCommand(job: Job, step: Step, token: string, command: WorkflowCommand): void {
    if (command.kind === "mask") {
      this.#masks.push(command.value);
      return;
    }
    if (command.kind !== "error" && command.kind !== "warning" && command.kind !== "notice") return;
    const text = redactString(annotationText(command), [...this.#options.secrets, ...this.#masks, token]).slice(0, ANNOTATION_MAX);
    if (text.trim() === "") return;
    this.#options.store.annotate(this.#options.runId, job.name, step.name, text, this.#options.now());
    this.#options.changed();
  }

  /** The `needs` context of a workflow job: each job id it needs, its legs' results taken together. */
  #needsOf(job: Job): Record<string, NeedResult> {
    const byGroup: Record<string, NeedResult> = {};
    const groupOf = new Map(this.#pipeline.jobs.map((j) => [j.name, j.group]));
    for (const need of job.needs) {
      const group = groupOf.get(need) ?? need;
      const ended = this.#needResults.get(need) ?? { result: "skipped" as const, outputs: {} };
      const so = byGroup[group];
      // Legs taken together: a failure outweighs a cancel, a cancel a success, a success a skipped leg.
      const result = !so ? ended.result : RESULT_WEIGHT[ended.result] > RESULT_WEIGHT[so.result] ? ended.result : so.result;
      byGroup[group] = { result, outputs: { ...so?.outputs, ...ended.outputs } };
    }
    return byGroup;
  }

  /** A leg failed: the waiting legs of its matrix are skipped and the running ones cancelled (strategy.fail-fast). */
  #failFast(failed: Job, jobs: JobStates): void {
    this.#failedFast.add(failed.group);
    for (const leg of jobs.skipWaitingLegs(failed.group)) {
      this.#options.store.skipJob(this.#options.runId, leg.name, this.#options.now());
      this.#options.changed();
    }
    const siblings = new Set(this.#pipeline.jobs.filter((j) => j.group === failed.group && j.name !== failed.name).map((j) => j.name));
    for (const step of this.#running) if (siblings.has(step.job)) void this.#stopStep(step, "fail-fast");
  }

  #stopStep(step: RunningStep, why: StopReason): Promise<void> {
    step.stoppedFor ??= why;
    return step.launched.stop();
  }
}
