import Database from "better-sqlite3";
import { RunNotFoundError } from "../errors.js";
import type { Job, Pipeline } from "../pipeline/model.js";
import { ANNOTATION_MAX, REMOTE_RESULT_TRIGGER, SECRET_NAME, SUMMARY_MAX } from "../rules.js";
import { describeSpaceOf, isDiskFull } from "../disk-space.js";
import { DiskReserve, reservePath } from "./disk-reserve.js";
import { AnnotationInvalidError, SecretInvalidError, StoreFullError, StoreOpenError } from "./errors.js";
import { stepLogPath } from "./log-path.js";
import { migrate } from "./migrate.js";
import type {
  CreatedRun,
  EndState,
  FinishedRun,
  JobState,
  NewRun,
  RemoteResultRun,
  RunEnd,
  RunRecord,
  RunState,
  RunView,
  StepState,
  StepView,
  StoreStats,
  TokenStep,
} from "./types.js";
import { toRunRecord, toRunViews, toStepView, type AnnotationRow, type JobRow, type RunRow, type StepRow } from "./views.js";

type Db = Database.Database;
type Stmt = Database.Statement;

const RUN_COLUMNS = `id, repo, ref, pipeline, pipeline_file, spec, state, failure_kind, failure_summary, superseded_by,
  created_at, started_at, finished_at, commit_sha, tree, dirty, workspace, triggered_by, notify, no_cache, rerun_of`;
/** Above any job's position (a run has at most a few thousand jobs): where replaceJob moves jobs out of the way. */
const POSITION_OFFSET = 1_000_000_000;
const ORPHANED_SUMMARY =
  "the daemon stopped while this run was active (crash, kill or reboot); it was marked failed when quire started again";

// Ending something sets finished_at to max(at, its start): a clock stepped back (NTP) must not make a
// finish write break the `finished_at >= started_at` CHECK and leave the run live forever.

/**
 * The run store (`quire.db`): runs, their jobs and steps, the tokens of running steps, annotations and
 * sealed secrets. Synchronous; every time is passed in as `at` (ms since the epoch) so callers and tests
 * drive the clock. The first terminal write wins: a write that would move a finished run, job or step
 * returns false and changes nothing.
 * A write the disk has no room for throws StoreFullError (QUIRE_ERR_STORE_FULL) and changes nothing; one that
 * records how something ended first gives back the store's reserve (disk-reserve.ts) and is tried once more
 * in the room it leaves, so a run that filled the disk can still be recorded as failed.
 */
export class RunStore {
  readonly #db: Db;
  readonly #file: string;
  readonly #reserve: DiskReserve;
  readonly #s: ReturnType<typeof prepare>;
  readonly #createRun: Database.Transaction<(input: NewRun, at: number) => CreatedRun>;
  readonly #finishRun: Database.Transaction<(id: number, end: RunEnd, at: number) => boolean>;
  readonly #finishJob: Database.Transaction<
    (runId: number, job: string, state: EndState, exitCode: number | null, at: number, inputs: string | null) => boolean
  >;
  readonly #cacheJob: Database.Transaction<(runId: number, job: string, inputs: string, from: number, at: number) => boolean>;
  readonly #skipJob: Database.Transaction<(runId: number, job: string, at: number) => boolean>;
  readonly #retryJob: Database.Transaction<(runId: number, job: string, at: number) => number | undefined>;
  readonly #recover: Database.Transaction<(at: number) => { orphaned: number[]; requeued: number[] }>;
  readonly #deleteRuns: Database.Transaction<(ids: readonly number[]) => number[]>;
  readonly #recordRemoteResult: Database.Transaction<(input: RemoteResultRun) => number>;
  readonly #replaceJob: Database.Transaction<(runId: number, job: string, jobs: readonly Job[], spec: Pipeline) => boolean>;

  /** Opens (creating and migrating as needed) the store at `file`; throws a StoreError (QUIRE_ERR_STORE_*). */
  static open(file: string): RunStore {
    const reserve = new DiskReserve(reservePath(file));
    let store: RunStore;
    try {
      store = RunStore.#open(file, reserve);
    } catch (err) {
      // A full disk at start (the WAL cannot grow, the shm file cannot be made): once more in the reserve's room.
      if (!isDiskFull(err) || !reserve.release()) throw err;
      store = RunStore.#open(file, reserve);
    }
    reserve.ensure();
    return store;
  }

  static #open(file: string, reserve: DiskReserve): RunStore {
    let db: Db | undefined;
    try {
      db = new Database(file, { timeout: 5000 }); // busy_timeout: wait for another connection's write
      const mode = db.pragma("journal_mode = WAL", { simple: true });
      if (mode !== "wal")
        throw new StoreOpenError(file, `SQLite would not use WAL (journal_mode is ${String(mode)}); put QUIRE_HOME on a local filesystem`);
      // NORMAL is durable enough under WAL (a power cut may lose the last commits, never consistency)
      // and keeps a step event to one write without an fsync.
      db.pragma("synchronous = NORMAL");
      db.pragma("foreign_keys = ON");
    } catch (err) {
      db?.close();
      if (err instanceof StoreOpenError) throw err;
      throw new StoreOpenError(file, `${(err as Error)?.message ?? err}; is it a quire database on a writable local filesystem?`, err);
    }
    try {
      migrate(db, file);
      return new RunStore(db, file, reserve);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private constructor(db: Db, file: string, reserve: DiskReserve) {
    this.#db = db;
    this.#file = file;
    this.#reserve = reserve;
    const s = (this.#s = prepare(db));

    const endRunWork = (runId: number, activeTo: "cancelled" | "failed", at: number) => {
      s.endRunSteps.run({ run: runId, active: activeTo, at });
      s.endRunJobs.run({ run: runId, active: activeTo, at });
    };

    this.#createRun = db.transaction((input: NewRun, at: number): CreatedRun => {
      const known = input.idempotencyKey === undefined ? undefined : (s.runForKey.get(input.idempotencyKey) as number | undefined);
      if (known !== undefined)
        return { run: toRunRecord(s.runById.get(known) as RunRow), superseded: [], recordedBefore: true, waits: false };
      const id = s.nextRunId.get() as number;
      const concurrency = input.concurrency?.(id) ?? null;
      const group = concurrency?.group || null;
      // A group keeps one run in progress (its oldest live run) and one waiting, as GitHub does: a new run
      // replaces the waiting one and waits its turn, or, with cancel-in-progress, replaces them both.
      const live = group === null ? [] : (s.liveOfGroup.all(input.repo, group) as number[]);
      const superseded =
        group === null
          ? (s.liveOfKey.all(input.repo, input.ref, input.pipeline.name) as number[])
          : concurrency!.cancelInProgress
            ? live
            : live.slice(1);
      const waits = group !== null && !concurrency!.cancelInProgress && live.length > 0;
      for (const old of superseded) {
        endRunWork(old, "cancelled", at);
        s.supersede.run({ id: old, by: id, at });
      }
      s.insertRun.run({
        id,
        repo: input.repo,
        ref: input.ref,
        pipeline: input.pipeline.name,
        file: input.pipeline.file,
        spec: JSON.stringify(input.pipeline),
        at,
        commit: input.commit,
        tree: input.tree,
        dirty: input.dirty ? 1 : 0,
        workspace: input.workspace,
        key: input.idempotencyKey ?? null,
        trigger: input.trigger ?? "manual",
        notify: input.notify ? 1 : 0,
        noCache: input.noCache ? 1 : 0,
        snapshot: input.snapshot === undefined || input.snapshot === null ? null : JSON.stringify(input.snapshot),
        rerunOf: input.rerunOf ?? null,
        group,
      });
      input.pipeline.jobs.forEach((job, position) => {
        const jobId = Number(s.insertJob.run(id, job.name, position).lastInsertRowid);
        job.steps.forEach((step, index) => {
          s.insertStep.run(jobId, 1, index, step.name, step.run, stepLogPath(id, job.name, 1, index));
        });
      });
      return { run: toRunRecord(s.runById.get(id) as RunRow), superseded, recordedBefore: false, waits };
    });

    this.#finishRun = db.transaction((id: number, end: RunEnd, at: number) => {
      const failed = end.state === "failed";
      const changed = s.finishRun.run({
        id,
        state: end.state,
        kind: failed ? end.kind : null,
        summary: failed ? clampSummary(end.summary) : null,
        at,
      }).changes;
      if (changed === 0) return false;
      endRunWork(id, "cancelled", at);
      return true;
    });

    this.#finishJob = db.transaction(
      (runId: number, job: string, state: EndState, exitCode: number | null, at: number, inputs: string | null) => {
        if (s.finishJob.run({ run: runId, job, state, exit: exitCode, at, inputs: state === "complete" ? inputs : null }).changes === 0)
          return false;
        s.endJobSteps.run({ run: runId, job, at });
        return true;
      },
    );

    this.#cacheJob = db.transaction((runId: number, job: string, inputs: string, from: number, at: number) => {
      const proving = s.provingJob.get(inputs, from) as { id: number; attempt: number } | undefined;
      if (proving === undefined) return false;
      if (s.cacheJob.run({ run: runId, job, inputs, from, at }).changes === 0) return false;
      s.cachedJobSteps.run({ run: runId, job, at, proving: proving.id, attempt: proving.attempt });
      return true;
    });

    this.#skipJob = db.transaction((runId: number, job: string, at: number) => {
      if (s.skipJob.run(at, runId, job).changes === 0) return false;
      s.endJobSteps.run({ run: runId, job, at });
      return true;
    });

    this.#retryJob = db.transaction((runId: number, job: string, at: number) => {
      const row = s.activeJob.get(runId, job) as { id: number; attempt: number } | undefined;
      if (row === undefined) return undefined;
      s.endJobSteps.run({ run: runId, job, at });
      const attempt = row.attempt + 1;
      s.setAttempt.run(attempt, row.id);
      for (const step of s.attemptSteps.all(row.id, row.attempt) as { position: number; name: string; command: string }[]) {
        s.insertStep.run(row.id, attempt, step.position, step.name, step.command, stepLogPath(runId, job, attempt, step.position));
      }
      return attempt;
    });

    this.#recover = db.transaction((at: number) => {
      const orphaned = s.runIdsInState.all("active") as number[];
      for (const id of orphaned) {
        s.finishRun.run({ id, state: "failed", kind: "orphaned", summary: ORPHANED_SUMMARY, at });
        endRunWork(id, "failed", at);
      }
      return { orphaned, requeued: s.runIdsInState.all("pending") as number[] };
    });

    this.#replaceJob = db.transaction((runId: number, job: string, jobs: readonly Job[], spec: Pipeline) => {
      const row = s.pendingJob.get(runId, job) as { id: number; position: number } | undefined;
      if (row === undefined || s.isFinished.get(runId) !== undefined) return false;
      s.deleteJobSteps.run(row.id);
      s.deleteJob.run(row.id);
      // The jobs after it move along to make room. Positions are unique within a run, so they go out of the
      // way first (by an offset no run reaches) and then into place: SQLite checks each row as it moves it.
      s.shiftJobs.run({ run: runId, after: row.position, by: POSITION_OFFSET + jobs.length - 1 });
      s.shiftJobs.run({ run: runId, after: POSITION_OFFSET, by: -POSITION_OFFSET });
      jobs.forEach((leg, i) => {
        const jobId = Number(s.insertJob.run(runId, leg.name, row.position + i).lastInsertRowid);
        leg.steps.forEach((step, index) => {
          s.insertStep.run(jobId, 1, index, step.name, step.run, stepLogPath(runId, leg.name, 1, index));
        });
      });
      s.setSpec.run(JSON.stringify(spec), runId);
      return true;
    });

    this.#deleteRuns = db.transaction((ids: readonly number[]) => {
      // A run superseded by a doomed one goes with it: its superseded_by would name nothing. It is older
      // and finished, so retention, which removes the oldest first, has usually chosen it already.
      const doomed = new Set<number>();
      const next = [...ids];
      for (let id = next.pop(); id !== undefined; id = next.pop()) {
        if (doomed.has(id) || s.isFinished.get(id) === undefined) continue;
        doomed.add(id);
        next.push(...(s.supersededBy.all(id) as number[]));
      }
      // A run a staying run's cached job was given the result of (cached_from) stays: that job shows its
      // steps' logs. So does a run whose deletion needs one that stays gone (the run it superseded).
      for (let changed = true; changed; ) {
        changed = false;
        for (const id of doomed) {
          const needed = [...(s.citingRuns.all(id) as number[]), ...(s.supersededBy.all(id) as number[])];
          if (needed.some((other) => !doomed.has(other))) {
            doomed.delete(id);
            changed = true;
          }
        }
      }
      // Every doomed run's jobs before any run: a cached job's foreign key (cached_from) is checked at once,
      // and the run it names may be newer than its own (a result recorded from the remote cache).
      for (const id of doomed) {
        s.deleteRunSteps.run(id);
        s.deleteRunJobs.run(id);
        s.deleteRunAnnotations.run(id);
      }
      for (const id of doomed) s.deleteRun.run(id);
      return [...doomed].sort((a, b) => a - b);
    });

    this.#recordRemoteResult = db.transaction((input: RemoteResultRun): number => {
      const id = s.nextRunId.get() as number;
      s.insertRemoteRun.run({
        id,
        repo: input.repo,
        ref: input.ref,
        pipeline: input.pipeline.name,
        file: input.pipeline.file,
        spec: JSON.stringify(input.pipeline),
        started: input.startedAt,
        finished: Math.max(input.finishedAt, input.startedAt),
        workspace: input.workspace,
        trigger: REMOTE_RESULT_TRIGGER,
      });
      const jobId = Number(
        s.insertRemoteJob.run({ run: id, name: input.job, inputs: input.inputs, started: input.startedAt, finished: input.finishedAt })
          .lastInsertRowid,
      );
      input.steps.forEach((step, position) => {
        s.insertRemoteStep.run({
          job: jobId,
          position,
          name: step.name,
          command: step.command,
          state: step.state,
          exit: step.exitCode,
          started: step.state === "skipped" ? null : step.startedAt,
          finished: step.finishedAt,
          log: stepLogPath(id, input.job, 1, position),
        });
      });
      return id;
    });
  }

  /** The database file. */
  get file(): string {
    return this.#file;
  }

  close(): void {
    this.#db.close();
  }

  /**
   * Inserts a pending run with its pending jobs and the pending steps of attempt 1; in the same
   * transaction, the live run of the same (repo, ref, pipeline), if any, becomes superseded by it.
   * An idempotency key a run was recorded for changes nothing: that run comes back, `recordedBefore`.
   */
  createRun(input: NewRun, at: number): CreatedRun {
    // A new run starts with the reserve back in place, if a full disk took it and there is room again.
    this.#reserve.ensure();
    return this.#write(() => this.#createRun.immediate(input, at));
  }

  /**
   * The run whose turn it is in run `id`'s concurrency group (its oldest live run), if `id` has a group and
   * a run of it is live; undefined for a run without one, which waits for nobody.
   */
  turnInGroupOf(id: number): number | undefined {
    const row = this.#s.groupOf.get(id) as { repo: string; group: string | null } | undefined;
    if (row?.group == null) return undefined;
    return (this.#s.liveOfGroup.all(row.repo, row.group) as number[])[0];
  }

  /** Run `id`'s concurrency group, as one string that tells groups of different repositories apart; undefined for none. */
  concurrencyGroupOf(id: number): string | undefined {
    const row = this.#s.groupOf.get(id) as { repo: string; group: string | null } | undefined;
    return row?.group == null ? undefined : JSON.stringify([row.repo, row.group]);
  }

  /** The run recorded for idempotency key `key`, in whatever state it is now. */
  runForIdempotencyKey(key: string): number | undefined {
    return this.#s.runForKey.get(key) as number | undefined;
  }

  /** pending -> active; false if the run is not pending. */
  startRun(id: number, at: number): boolean {
    return this.#write(() => this.#s.startRun.run(at, id).changes === 1);
  }

  /** Ends a live run (a pending one cannot complete); its active jobs and steps become cancelled, pending ones skipped. */
  finishRun(id: number, end: RunEnd, at: number): boolean {
    return this.#end(() => this.#finishRun.immediate(id, end, at));
  }

  /** pending -> active, in an active run. */
  startJob(runId: number, job: string, at: number): boolean {
    return this.#write(() => this.#s.startJob.run(at, runId, job, runId).changes === 1);
  }

  /**
   * Ends a live job (a pending one cannot complete); its active steps become cancelled, pending ones
   * skipped. A complete job's `inputs` (its job-cache key) let later jobs of the same inputs be cached from it.
   */
  finishJob(runId: number, job: string, state: EndState, exitCode: number | null, at: number, inputs: string | null = null): boolean {
    return this.#end(() => this.#finishJob.immediate(runId, job, state, exitCode, at, inputs));
  }

  /**
   * pending -> cached, in an active run: the job is given the result of run `from`'s complete job of the
   * same `inputs`. Its steps become skipped, each one's log that of the same step in the proving job's
   * last attempt. False when the job is not pending or run `from` has no such job.
   */
  cacheJob(runId: number, job: string, inputs: string, from: number, at: number): boolean {
    return this.#end(() => this.#cacheJob.immediate(runId, job, inputs, from, at));
  }

  /**
   * Records a job's result found on the remote cache as a finished run of its own (RemoteResultRun), its
   * job complete with `inputs`, so that provenBy finds it; gives the run's id. Its steps' logs are for the
   * caller to write, at the paths recorded (stepLogPath of the new run, attempt 1).
   */
  recordRemoteResult(input: RemoteResultRun): number {
    return this.#write(() => this.#recordRemoteResult.immediate(input));
  }

  /** The newest run other than `runId` with a complete job of these inputs. */
  provenBy(inputs: string, runId: number): number | undefined {
    return this.#s.provenBy.get(inputs, runId) as number | undefined;
  }

  /** pending -> skipped (a job whose needs failed), with its steps. */
  skipJob(runId: number, job: string, at: number): boolean {
    return this.#end(() => this.#skipJob.immediate(runId, job, at));
  }

  /**
   * Starts the next attempt of an active job: the current attempt's unfinished steps end (active ->
   * cancelled, pending -> skipped) and the new attempt's steps are inserted pending. Returns the new
   * attempt, or undefined when the job is not active (it finished, or its run ended meanwhile).
   */
  retryJob(runId: number, job: string, at: number): number | undefined {
    return this.#write(() => this.#retryJob.immediate(runId, job, at));
  }

  /** pending -> active, for a step of the job's current attempt while the job is active. */
  startStep(runId: number, job: string, attempt: number, index: number, at: number): boolean {
    return this.#write(() => this.#s.startStep.run(at, runId, job, attempt, attempt, index).changes === 1);
  }

  /**
   * Replaces pending job `job` of a live run by `jobs` (pending, with their pending steps), in its place,
   * and records `spec` as the run's pipeline: a workflow job resolved once it is ready (a matrix computed
   * by an expression becomes its legs). False when the job is not pending or the run has ended.
   */
  replaceJob(runId: number, job: string, jobs: readonly Job[], spec: Pipeline): boolean {
    return this.#write(() => this.#replaceJob.immediate(runId, job, jobs, spec));
  }

  /** Names a pending step as it shows once its name's expressions are evaluated (a workflow step's, as it starts). */
  nameStep(runId: number, job: string, attempt: number, index: number, name: string): boolean {
    return this.#write(() => this.#s.nameStep.run(name, runId, job, attempt, index).changes === 1);
  }

  /** Ends a live step (a pending one cannot complete; a complete step's exit code is 0). */
  /** pending -> skipped: a workflow step whose `if` said no. */
  skipStep(runId: number, job: string, attempt: number, index: number, at: number): boolean {
    return this.#end(() => this.#s.finishStep.run("skipped", null, at, runId, job, attempt, index, "skipped").changes === 1);
  }

  finishStep(runId: number, job: string, attempt: number, index: number, state: EndState, exitCode: number | null, at: number): boolean {
    return this.#end(() => this.#s.finishStep.run(state, exitCode, at, runId, job, attempt, index, state).changes === 1);
  }

  /** The whole run: jobs in file order with the steps of every attempt, and annotations. */
  getRun(id: number): RunView | undefined {
    const run = this.#s.runById.get(id) as RunRow | undefined;
    if (run === undefined) return undefined;
    return this.#views([run])[0];
  }

  /** Just the run's state: what a watcher or follower asks at each change, without reading the whole run. */
  runState(id: number): RunState | undefined {
    return this.#s.runState.get(id) as RunState | undefined;
  }

  /** Just one step's state (undefined when there is no such step). */
  stepState(runId: number, job: string, attempt: number, index: number): StepState | undefined {
    return this.#s.stepState.get(runId, job, attempt, index) as StepState | undefined;
  }

  /** Just one job's state (undefined when there is no such job). */
  jobState(runId: number, job: string): JobState | undefined {
    return this.#s.jobState.get(runId, job) as JobState | undefined;
  }

  /** A job's `n`th step in the order a view lists them (by attempt, then position). */
  stepOfJob(runId: number, job: string, n: number): StepView | undefined {
    const row = this.#s.stepOfJob.get(runId, job, n) as StepRow | undefined;
    return row && toStepView(row);
  }

  /**
   * The newest runs first, whole; without the records of results found on the remote cache, which are newer
   * than the runs that asked for them (they stay reachable by id, as a cached job's cached_from).
   */
  listRuns(limit = 50): RunView[] {
    return this.#views(this.#s.newestRuns.all(limit) as RunRow[]);
  }

  /** The newest run of each (ref, pipeline) of `repo`, newest first, at most `limit`. */
  newestRunsOfRepo(repo: string, limit: number): { id: number; ref: string; pipeline: string; state: RunState }[] {
    return this.#s.newestOfRepo.all(repo, limit) as { id: number; ref: string; pipeline: string; state: RunState }[];
  }

  /** Pending and active runs, oldest first. */
  liveRuns(): RunRecord[] {
    return (this.#s.liveRuns.all() as RunRow[]).map(toRunRecord);
  }

  /**
   * For a daemon starting after another stopped: active runs become failed/orphaned (their active jobs
   * and steps failed, pending ones skipped); pending runs stay pending and are returned to queue again.
   */
  recoverAfterCrash(at: number): { orphaned: number[]; requeued: number[] } {
    return this.#end(() => this.#recover.immediate(at));
  }

  /** Every finished run (newest first) with when it ended: what retention chooses from. */
  finishedRuns(): FinishedRun[] {
    return this.#s.finishedRuns.all() as FinishedRun[];
  }

  /** The snapshot run `id` recorded (NewRun.snapshot, parsed); null when it has none, undefined when there is no such run. */
  runSnapshot(id: number): unknown {
    const row = this.#s.runSnapshot.get(id) as { snapshot: string | null } | undefined;
    return row && (row.snapshot === null ? null : JSON.parse(row.snapshot));
  }

  /** The highest id ever given to a run (0 before the first): an id above it has never named a run. */
  lastRunId(): number {
    return (this.#s.nextRunId.get() as number) - 1;
  }

  /** The id of every run the store holds, live or not. */
  runIds(): Set<number> {
    return new Set(this.#s.allRunIds.all() as number[]);
  }

  /** The runs each run's cached jobs were given results of (jobs.cached_from), for runs that cite any. */
  citations(): Map<number, number[]> {
    const cites = new Map<number, number[]>();
    for (const { runId, from } of this.#s.citations.all() as { runId: number; from: number }[])
      cites.set(runId, [...(cites.get(runId) ?? []), from]);
    return cites;
  }

  /**
   * Deletes finished runs with their jobs, steps and annotations, all in one transaction (together with
   * any run one of them superseded); a live run is never deleted, nor one whose results a cached job of a
   * run that stays shows. Returns the ids deleted. The logs are the caller's to remove, after: a crash in
   * between leaves logs no row names, never a row whose logs are gone. On a full disk it may use the
   * store's reserve, since what it does frees room.
   */
  deleteRuns(ids: readonly number[]): number[] {
    if (ids.length === 0) return [];
    return this.#end(() => this.#deleteRuns.immediate(ids));
  }

  /** Gives an active step its token (by hash); false when the step is not active. The token dies as the step ends. */
  issueStepToken(runId: number, job: string, attempt: number, index: number, tokenHash: Buffer): boolean {
    return this.#write(() => this.#s.issueStepToken.run(tokenHash, runId, job, attempt, index).changes === 1);
  }

  /** The running step whose token hashes to `tokenHash`. */
  stepForToken(tokenHash: Buffer): TokenStep | undefined {
    return this.#s.stepForToken.get(tokenHash) as TokenStep | undefined;
  }

  annotate(runId: number, job: string | null, step: string | null, text: string, at: number): void {
    const length = [...text].length; // SQLite counts characters, not UTF-16 units
    if (length === 0 || length > ANNOTATION_MAX) throw new AnnotationInvalidError(length, ANNOTATION_MAX);
    if (this.#s.runExists.get(runId) === undefined) throw new RunNotFoundError(runId);
    this.#write(() => this.#s.insertAnnotation.run(runId, job, step, text, at));
  }

  putSecret(name: string, nonce: Buffer, box: Buffer, at: number): void {
    if (!SECRET_NAME.test(name)) throw new SecretInvalidError(name, "a name is capitals, digits and _, not starting with a digit");
    if (nonce.length !== 24 || box.length < 16)
      throw new SecretInvalidError(name, "not a secretbox (24-byte nonce, box of at least 16 bytes)");
    this.#write(() => this.#s.putSecret.run(name, nonce, box, at));
  }

  getSecret(name: string): { nonce: Buffer; box: Buffer } | undefined {
    return this.#s.getSecret.get(name) as { nonce: Buffer; box: Buffer } | undefined;
  }

  secretNames(): string[] {
    return this.#s.secretNames.all() as string[];
  }

  deleteSecret(name: string): boolean {
    return this.#write(() => this.#s.deleteSecret.run(name).changes === 1);
  }

  stats(): StoreStats {
    const runsByState: Record<RunState, number> = { pending: 0, active: 0, complete: 0, failed: 0, cancelled: 0, superseded: 0 };
    for (const { state, n } of this.#s.runsByState.all() as { state: RunState; n: number }[]) runsByState[state] = n;
    const runsByOutcome = this.#s.runsByOutcome.all() as { state: RunState; failureKind: string; n: number }[];
    return { runsByState, runsByOutcome, jobsActive: this.#s.jobsActive.get() as number, stepsActive: this.#s.stepsActive.get() as number };
  }

  /** One write (a statement, or a transaction, which is rolled back whole when it fails). */
  #write<T>(write: () => T, mayUseReserve = false): T {
    try {
      return write();
    } catch (err) {
      if (!isDiskFull(err)) throw err;
      if (!mayUseReserve || !this.#reserve.release()) throw new StoreFullError(this.#file, describeSpaceOf(this.#file), err);
    }
    try {
      return write();
    } catch (again) {
      if (!isDiskFull(again)) throw again;
      throw new StoreFullError(this.#file, describeSpaceOf(this.#file), again);
    }
  }

  /** A write that records how a run, job or step ended: it may use the reserve. */
  #end<T>(write: () => T): T {
    return this.#write(write, true);
  }

  #views(runs: RunRow[]): RunView[] {
    if (runs.length === 0) return [];
    // The rows are the newest N (or one), so their ids are exactly those in [min, max].
    const ids = runs.map((r) => r.id);
    const lo = Math.min(...ids);
    const hi = Math.max(...ids);
    const s = this.#s;
    return toRunViews(
      runs,
      s.jobsOfRuns.all(lo, hi) as JobRow[],
      s.stepsOfRuns.all(lo, hi) as StepRow[],
      s.annotationsOfRuns.all(lo, hi) as AnnotationRow[],
    );
  }
}

// SQLite's length() counts code points; cut there so a surrogate pair is never split.
function clampSummary(summary: string): string {
  const chars = [...summary];
  return chars.length <= SUMMARY_MAX ? summary : chars.slice(0, SUMMARY_MAX - 1).join("") + "…";
}

/** Every statement the store runs, prepared once when it opens. */
function prepare(db: Db) {
  const p = (sql: string): Stmt => db.prepare(sql);
  const unfinished = `state IN ('pending', 'active')`;
  const endFields = (activeTo: string) =>
    `state = CASE state WHEN 'active' THEN ${activeTo} ELSE 'skipped' END, finished_at = max(@at, coalesce(started_at, 0))`;
  return {
    nextRunId: p(`SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'runs'), 0) + 1`).pluck(),
    liveOfKey: p(`SELECT id FROM runs WHERE repo = ? AND ref = ? AND pipeline = ? AND ${unfinished}`).pluck(),
    supersede: p(`UPDATE runs SET state = 'superseded', superseded_by = @by,
      finished_at = max(@at, coalesce(started_at, created_at)) WHERE id = @id AND ${unfinished}`),
    insertRun:
      p(`INSERT INTO runs (id, repo, ref, pipeline, pipeline_file, spec, state, created_at, commit_sha, tree, dirty, workspace, idempotency_key, triggered_by, notify, no_cache, snapshot, rerun_of, concurrency_group)
      VALUES (@id, @repo, @ref, @pipeline, @file, @spec, 'pending', @at, @commit, @tree, @dirty, @workspace, @key, @trigger, @notify, @noCache, @snapshot, @rerunOf, @group)`),
    runForKey: p(`SELECT id FROM runs WHERE idempotency_key = ?`).pluck(),
    insertJob: p(`INSERT INTO jobs (run_id, name, position, state, attempt) VALUES (?, ?, ?, 'pending', 1)`),
    liveOfGroup: p(`SELECT id FROM runs WHERE repo = ? AND concurrency_group = ? AND state IN ('pending', 'active') ORDER BY id`).pluck(),
    groupOf: p(`SELECT repo, concurrency_group AS "group" FROM runs WHERE id = ?`),
    pendingJob: p(`SELECT id, position FROM jobs WHERE run_id = ? AND name = ? AND state = 'pending'`),
    deleteJobSteps: p(`DELETE FROM steps WHERE job_id = ?`),
    deleteJob: p(`DELETE FROM jobs WHERE id = ?`),
    shiftJobs: p(`UPDATE jobs SET position = position + @by WHERE run_id = @run AND position > @after`),
    setSpec: p(`UPDATE runs SET spec = ? WHERE id = ?`),
    nameStep: p(`UPDATE steps SET name = ?
      WHERE job_id = (SELECT id FROM jobs WHERE run_id = ? AND name = ?) AND attempt = ? AND position = ? AND state = 'pending'`),
    insertStep: p(`INSERT INTO steps (job_id, attempt, position, name, command, state, log) VALUES (?, ?, ?, ?, ?, 'pending', ?)`),
    startRun: p(`UPDATE runs SET state = 'active', started_at = max(?, created_at) WHERE id = ? AND state = 'pending'`),
    finishRun: p(`UPDATE runs SET state = @state, failure_kind = @kind, failure_summary = @summary,
      finished_at = max(@at, coalesce(started_at, created_at))
      WHERE id = @id AND (state = 'active' OR (state = 'pending' AND @state <> 'complete'))`),
    endRunSteps: p(`UPDATE steps SET ${endFields("@active")}
      WHERE job_id IN (SELECT id FROM jobs WHERE run_id = @run) AND ${unfinished}`),
    endRunJobs: p(`UPDATE jobs SET ${endFields("@active")} WHERE run_id = @run AND ${unfinished}`),
    startJob: p(`UPDATE jobs SET state = 'active', started_at = ?
      WHERE run_id = ? AND name = ? AND state = 'pending' AND (SELECT state FROM runs WHERE id = ?) = 'active'`),
    finishJob: p(`UPDATE jobs SET state = @state, exit_code = @exit, inputs = @inputs, finished_at = max(@at, coalesce(started_at, 0))
      WHERE run_id = @run AND name = @job AND (state = 'active' OR (state = 'pending' AND @state <> 'complete'))`),
    skipJob: p(`UPDATE jobs SET state = 'skipped', finished_at = ? WHERE run_id = ? AND name = ? AND state = 'pending'`),
    insertRemoteRun:
      p(`INSERT INTO runs (id, repo, ref, pipeline, pipeline_file, spec, state, created_at, started_at, finished_at, dirty, workspace, triggered_by)
      VALUES (@id, @repo, @ref, @pipeline, @file, @spec, 'complete', @started, @started, @finished, 0, @workspace, @trigger)`),
    insertRemoteJob: p(`INSERT INTO jobs (run_id, name, position, state, attempt, exit_code, started_at, finished_at, inputs)
      VALUES (@run, @name, 0, 'complete', 1, 0, @started, max(@finished, @started), @inputs)`),
    insertRemoteStep: p(`INSERT INTO steps (job_id, attempt, position, name, command, state, exit_code, started_at, finished_at, log)
      VALUES (@job, 1, @position, @name, @command, @state, @exit, @started, max(@finished, coalesce(@started, @finished)), @log)`),
    provenBy: p(`SELECT run_id FROM jobs WHERE inputs = ? AND state = 'complete' AND run_id <> ? ORDER BY id DESC LIMIT 1`).pluck(),
    provingJob: p(`SELECT id, attempt FROM jobs WHERE inputs = ? AND state = 'complete' AND run_id = ? ORDER BY id DESC LIMIT 1`),
    cacheJob: p(`UPDATE jobs SET state = 'cached', inputs = @inputs, cached_from = @from, finished_at = @at
      WHERE run_id = @run AND name = @job AND state = 'pending' AND (SELECT state FROM runs WHERE id = @run) = 'active'`),
    cachedJobSteps: p(`UPDATE steps SET state = 'skipped', finished_at = @at,
        log = coalesce((SELECT p.log FROM steps p WHERE p.job_id = @proving AND p.attempt = @attempt AND p.position = steps.position), log)
      WHERE job_id = (SELECT id FROM jobs WHERE run_id = @run AND name = @job) AND state = 'pending'`),
    endJobSteps: p(`UPDATE steps SET ${endFields("'cancelled'")}
      WHERE job_id = (SELECT id FROM jobs WHERE run_id = @run AND name = @job) AND ${unfinished}`),
    activeJob: p(`SELECT id, attempt FROM jobs WHERE run_id = ? AND name = ? AND state = 'active'`),
    setAttempt: p(`UPDATE jobs SET attempt = ?, exit_code = NULL WHERE id = ?`),
    attemptSteps: p(`SELECT position, name, command FROM steps WHERE job_id = ? AND attempt = ? ORDER BY position`),
    startStep: p(`UPDATE steps SET state = 'active', started_at = ?
      WHERE job_id = (SELECT id FROM jobs WHERE run_id = ? AND name = ? AND state = 'active' AND attempt = ?)
        AND attempt = ? AND position = ? AND state = 'pending'`),
    finishStep: p(`UPDATE steps SET state = ?, exit_code = ?, finished_at = max(?, coalesce(started_at, 0))
      WHERE job_id = (SELECT id FROM jobs WHERE run_id = ? AND name = ?) AND attempt = ? AND position = ?
        AND (state = 'active' OR (state = 'pending' AND ? <> 'complete'))`),
    runById: p(`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ?`),
    runState: p(`SELECT state FROM runs WHERE id = ?`).pluck(),
    jobState: p(`SELECT state FROM jobs WHERE run_id = ? AND name = ?`).pluck(),
    stepState: p(`SELECT s.state FROM steps s JOIN jobs j ON j.id = s.job_id
      WHERE j.run_id = ? AND j.name = ? AND s.attempt = ? AND s.position = ?`).pluck(),
    newestRuns: p(`SELECT ${RUN_COLUMNS} FROM runs WHERE triggered_by IS NOT '${REMOTE_RESULT_TRIGGER}' ORDER BY id DESC LIMIT ?`),
    newestOfRepo: p(`SELECT r.id, r.ref, r.pipeline, r.state FROM runs r
      JOIN (SELECT max(id) AS id FROM runs WHERE repo = ? AND triggered_by <> '${REMOTE_RESULT_TRIGGER}' GROUP BY ref, pipeline) newest ON newest.id = r.id ORDER BY r.id DESC LIMIT ?`),
    liveRuns: p(`SELECT ${RUN_COLUMNS} FROM runs WHERE ${unfinished} ORDER BY id`),
    runIdsInState: p(`SELECT id FROM runs WHERE state = ? ORDER BY id`).pluck(),
    jobsOfRuns: p(`SELECT id, run_id, name, state, attempt, exit_code, started_at, finished_at, cached_from
      FROM jobs WHERE run_id BETWEEN ? AND ? ORDER BY run_id, position`),
    stepsOfRuns: p(`SELECT s.job_id, s.attempt, s.position, s.name, s.command, s.state, s.exit_code, s.started_at, s.finished_at, s.log
      FROM steps s JOIN jobs j ON j.id = s.job_id WHERE j.run_id BETWEEN ? AND ? ORDER BY s.job_id, s.attempt, s.position`),
    stepOfJob: p(`SELECT s.job_id, s.attempt, s.position, s.name, s.command, s.state, s.exit_code, s.started_at, s.finished_at, s.log
      FROM steps s JOIN jobs j ON j.id = s.job_id WHERE j.run_id = ? AND j.name = ? ORDER BY s.attempt, s.position LIMIT 1 OFFSET ?`),
    annotationsOfRuns: p(`SELECT run_id, job, step, text, created_at FROM annotations WHERE run_id BETWEEN ? AND ? ORDER BY id`),
    issueStepToken: p(`INSERT INTO step_tokens (token_hash, step_id)
      SELECT ?, s.id FROM steps s JOIN jobs j ON j.id = s.job_id
      WHERE j.run_id = ? AND j.name = ? AND s.attempt = ? AND s.position = ? AND s.state = 'active'`),
    stepForToken: p(`SELECT j.run_id AS runId, j.name AS job, s.name AS step, s.attempt, s.position AS "index"
      FROM step_tokens t JOIN steps s ON s.id = t.step_id JOIN jobs j ON j.id = s.job_id
      WHERE t.token_hash = ? AND s.state = 'active'`),
    runExists: p(`SELECT 1 FROM runs WHERE id = ?`),
    finishedRuns: p(`SELECT id, state, finished_at AS finishedAt FROM runs WHERE NOT ${unfinished} ORDER BY id DESC`),
    allRunIds: p(`SELECT id FROM runs`).pluck(),
    runSnapshot: p(`SELECT snapshot FROM runs WHERE id = ?`),
    isFinished: p(`SELECT 1 FROM runs WHERE id = ? AND NOT ${unfinished}`).pluck(),
    supersededBy: p(`SELECT id FROM runs WHERE superseded_by = ?`).pluck(),
    citingRuns: p(`SELECT DISTINCT run_id FROM jobs WHERE cached_from = ?`).pluck(),
    citations: p(`SELECT DISTINCT run_id AS runId, cached_from AS "from" FROM jobs WHERE cached_from IS NOT NULL`),
    deleteRunSteps: p(`DELETE FROM steps WHERE job_id IN (SELECT id FROM jobs WHERE run_id = ?)`),
    deleteRunJobs: p(`DELETE FROM jobs WHERE run_id = ?`),
    deleteRunAnnotations: p(`DELETE FROM annotations WHERE run_id = ?`),
    deleteRun: p(`DELETE FROM runs WHERE id = ?`),
    insertAnnotation: p(`INSERT INTO annotations (run_id, job, step, text, created_at) VALUES (?, ?, ?, ?, ?)`),
    putSecret: p(`INSERT INTO secrets (name, nonce, box, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (name) DO UPDATE SET nonce = excluded.nonce, box = excluded.box, updated_at = excluded.updated_at`),
    getSecret: p(`SELECT nonce, box FROM secrets WHERE name = ?`),
    secretNames: p(`SELECT name FROM secrets ORDER BY name`).pluck(),
    deleteSecret: p(`DELETE FROM secrets WHERE name = ?`),
    runsByState: p(`SELECT state, count(*) AS n FROM runs GROUP BY state`),
    runsByOutcome: p(
      `SELECT state, coalesce(failure_kind, '') AS failureKind, count(*) AS n FROM runs GROUP BY state, failureKind ORDER BY state, failureKind`,
    ),
    jobsActive: p(`SELECT count(*) FROM jobs WHERE state = 'active'`).pluck(),
    stepsActive: p(`SELECT count(*) FROM steps WHERE state = 'active'`).pluck(),
  };
}
