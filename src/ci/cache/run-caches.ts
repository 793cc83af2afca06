// The caches as one run's execution uses them: a job whose inputs match an earlier complete job's is
// given that job's result instead of running; a job's `cache:` entries are restored before its first
// step and saved once an attempt completes, and so are a workflow's actions/cache steps. A cache that
// cannot be read or written never fails a job: it goes on without it, and an annotation of the job says why.
// With a remote cache, a result not found here is asked for there, and a result made here is uploaded
// once its job has ended, beside the jobs that follow; the run's end waits for the uploads, each bounded.
import { evaluateTemplate } from "../expressions/template.js";
import { hashFiles } from "../expressions/hash-files.js";
import { CacheEntryError, type RemoteCacheError } from "../errors.js";
import type { Job, Pipeline } from "../pipeline/model.js";
import type { RunStore } from "../store/index.js";
import { restoreScript, savedScript, warningScript, type CacheStep } from "./cache-step.js";
import type { CacheRequest, DependencyCaches } from "./dependency-caches.js";
import { jobInputs, type NeedInputs } from "./job-inputs.js";
import type { JobResults } from "./job-results.js";
import { ANNOTATION_MAX } from "../rules.js";
import type { AskingRun, RemoteResults } from "./remote-results.js";
import type { OutputsKeeper } from "../workspace/kept-outputs.js";

export interface RunCachesOptions {
  store: RunStore;
  dependencies: DependencyCaches;
  results: JobResults;
  runId: number;
  /** The run's repository: caches and results are its own. */
  repo: string;
  pipeline: Pipeline;
  /** Where the run's steps start (absolute): cache paths and `hashFiles()` are relative to it. */
  baseDir: string;
  /** The same, relative to the run's workspace. */
  dir: string;
  /** What the run's workspace keeps of what the caches put back into it or saved from it: taken, not copied, next time. */
  kept?: OutputsKeeper;
  /** False for `quirectl run --no-cache`: every job runs (and what completes is still kept). */
  useResults: boolean;
  /** The job cache's remote half (cache.remote); without it, results are this machine's only. */
  remote?: { results: RemoteResults; run: AskingRun };
  /** Writes a warning to the daemon's log: the remote cache's failures go there too. */
  warn?(message: string, fields: Record<string, unknown>): void;
  /** Called after each annotation it writes. */
  changed(): void;
  now(): number;
}

/** The dependency caches a job saves once an attempt completes: those whose key itself was not found. */
export type DueSaves = CacheRequest[];

/** An earlier job whose result a job is given. */
export interface CachedResult {
  /** The run in which a job of the same inputs completed. */
  runId: number;
  /** Its outputs, for the jobs that need this one. */
  outputs: Record<string, string>;
  /**
   * Puts the files it left (its `outputs:` paths) back into the workspace: for a job that runs and needs
   * it, so a run whose jobs are all cached copies nothing. A failure is an annotation of the cached job.
   */
  putBack(): Promise<void>;
}

export class RunCaches {
  readonly #o: RunCachesOptions;
  /** The remote cache's key of each job's inputs in this run: the same hash without the repository's path. */
  readonly #remoteKeys = new Map<string, string>();
  /** The uploads under way, each ending (never rejecting) within its bound. */
  readonly #uploads: Promise<void>[] = [];

  constructor(options: RunCachesOptions) {
    this.#o = options;
  }

  /** The job's inputs (a hash), once its needs have ended; null when not all are known. */
  inputsOf(job: Job, needs: readonly NeedInputs[]): string | null {
    const { pipeline, dir } = this.#o;
    const inputs = jobInputs({ repo: this.#o.repo, pipeline, job, dir, needs });
    if (inputs !== null && this.#o.remote) {
      // Its needs by their remote keys, made from theirs: they ended before it.
      const remoteNeeds = needs.map((need) => ({ name: need.name, inputs: this.#remoteKeys.get(need.inputs ?? "") ?? null }));
      const key = jobInputs({ repo: null, pipeline, job, dir, needs: remoteNeeds });
      if (key !== null) this.#remoteKeys.set(inputs, key);
    }
    return inputs;
  }

  /** The result of an earlier complete job of these inputs; undefined: the job runs. */
  async cachedResult(job: Job, inputs: string): Promise<CachedResult | undefined> {
    if (!this.#o.useResults) return undefined;
    const proof = this.#o.store.provenBy(inputs, this.#o.runId) ?? (await this.#fromRemote(job, inputs));
    if (proof === undefined) return undefined;
    const found = await this.#o.results.find(job, inputs, this.#o.baseDir, this.#o.kept);
    if (!found) return undefined;
    const putBack = () =>
      found.putBack().catch((error: unknown) => this.#note(job, new CacheEntryError(`putting back what run ${proof} left`, error)));
    return { runId: proof, outputs: found.outputs, putBack };
  }

  /** Restores the job's `cache:` entries; gives those to save once an attempt completes. */
  async restoreDependencies(job: Job): Promise<DueSaves> {
    const due: DueSaves = [];
    for (const cache of job.cache) {
      const scope = { contexts: {}, hashFiles: (patterns: string[]) => hashFiles(this.#o.baseDir, patterns) };
      let request: CacheRequest | undefined;
      try {
        request = {
          key: evaluateTemplate(cache.key, scope),
          paths: cache.paths,
          restoreKeys: cache.restoreKeys.map((key) => evaluateTemplate(key, scope)),
        };
        const restored = await this.#o.dependencies.restore(this.#o.repo, request, this.#o.baseDir, { kept: this.#o.kept });
        if (restored.hit !== "exact") due.push(request);
      } catch (error) {
        this.#note(job, new CacheEntryError(`restoring the cache ${request?.key ?? cache.key}`, error));
        if (request) due.push(request);
      }
    }
    return due;
  }

  /** Does a workflow's actions/cache step, adding to `due` what it saves at the job's end; gives the step's script. */
  async step(step: CacheStep, due: DueSaves): Promise<string> {
    const { request } = step;
    try {
      if (step.mode === "save")
        return savedScript(
          request.key,
          await this.#o.dependencies.save(this.#o.repo, request, this.#o.baseDir, this.#o.now(), { kept: this.#o.kept }),
        );
      const restored = await this.#o.dependencies.restore(this.#o.repo, request, this.#o.baseDir, {
        lookupOnly: step.lookupOnly,
        kept: this.#o.kept,
      });
      if (step.mode === "cache" && restored.hit !== "exact" && !due.some((d) => d.key === request.key)) due.push(request);
      return restoreScript(step, restored);
    } catch (error) {
      // As actions/cache does, a cache that cannot be read or written is a warning (an annotation of the step), not a failure.
      return warningScript(new CacheEntryError(`${step.mode === "save" ? "saving" : "restoring"} the cache ${request.key}`, error).message);
    }
  }

  /** Once an attempt completes: saves the due caches and keeps the job's result; false when the result could not be kept. */
  async completed(job: Job, due: DueSaves, inputs: string | null, outputs: Record<string, string>): Promise<boolean> {
    for (const request of due) {
      try {
        await this.#o.dependencies.save(this.#o.repo, request, this.#o.baseDir, this.#o.now(), { kept: this.#o.kept });
      } catch (error) {
        this.#note(job, new CacheEntryError(`saving the cache ${request.key}`, error));
      }
    }
    if (inputs === null) return false;
    try {
      await this.#o.results.keep(job, inputs, this.#o.baseDir, outputs, this.#o.now(), this.#o.kept);
      return true;
    } catch (error) {
      this.#note(job, new CacheEntryError("keeping the job's result", error));
      return false;
    }
  }

  /**
   * After `job` of `inputs` completed and its result was kept: uploads it to the remote cache, if there is
   * one, without holding up the jobs that follow. A failure is a warning (an annotation of the job).
   */
  share(job: Job, inputs: string): void {
    const remote = this.#o.remote;
    const key = this.#remoteKeys.get(inputs);
    if (!remote || key === undefined) return;
    this.#uploads.push(
      remote.results.upload(job, inputs, key, this.#o.runId).catch((error: unknown) => this.#remoteFailed(job, "uploading", error)),
    );
  }

  /** Resolves once every upload has ended: each within its time bound, so a slow server holds the run's end that long at most. */
  async shared(): Promise<void> {
    await Promise.all(this.#uploads);
  }

  /** The run a result found on the remote cache was recorded as; undefined when there is none to use. */
  async #fromRemote(job: Job, inputs: string): Promise<number | undefined> {
    const remote = this.#o.remote;
    const key = this.#remoteKeys.get(inputs);
    if (!remote || key === undefined) return undefined;
    try {
      return await remote.results.fetch(job, inputs, key, remote.run);
    } catch (error) {
      this.#remoteFailed(job, "asking", error);
      return undefined;
    }
  }

  #remoteFailed(job: Job, doing: "asking" | "uploading", error: unknown): void {
    const code = (error as RemoteCacheError).code;
    const what = doing === "asking" ? "the remote cache was not used for this job" : "this job's result was not uploaded";
    const text = `quire: ${what}${code ? ` (${code})` : ""}: ${(error as Error).message}`;
    this.#o.warn?.(`remote cache: ${doing} ${this.#o.remote!.results.where} failed`, {
      run: this.#o.runId,
      job: job.name,
      code,
      error: (error as Error).message,
    });
    try {
      this.#o.store.annotate(this.#o.runId, job.name, null, text.slice(0, ANNOTATION_MAX), this.#o.now());
    } catch {
      return; // the run was removed meanwhile: the daemon's log has it
    }
    this.#o.changed();
  }

  #note(job: Job, error: CacheEntryError): void {
    this.#o.store.annotate(this.#o.runId, job.name, null, `quire: ${error.message}`.slice(0, ANNOTATION_MAX), this.#o.now());
    this.#o.changed();
  }
}
