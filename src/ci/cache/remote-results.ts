// The job cache on a remote cache server, beside the local one: a result missing here is asked for there
// (read-through) and, once downloaded and checked, kept here as a local one is (its files in the local
// results, its job recorded as a run of its own with its steps' logs), so it is then served as a local
// hit; a result made here is uploaded after its job has ended (write-behind). The hash sent is the job's
// inputs without the repository's path (job-inputs.ts: any clone shares it), which holds no secret's value.
import { lstat, mkdir, readdir, readFile, readlink, symlink, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { RemoteArtifactCorruptError } from "../errors.js";
import type { Job, Pipeline, RemoteCache } from "../pipeline/model.js";
import { workspacePath } from "../pipeline/workspace-path.js";
import { stepLogPath, type RunStore } from "../store/index.js";
import { JobResults } from "./job-results.js";
import { RemoteCacheClient } from "./remote-client.js";
import { flush } from "./tree-copy.js";
import { artifactTag, packResult, unpackResult, type ArtifactFile, type ResultArtifact } from "./result-artifact.js";

export interface RemoteResultsOptions {
  config: RemoteCache;
  /** The values of the secrets the configuration names. */
  token: string;
  signatureKey: string | null;
  store: RunStore;
  results: JobResults;
  /** Directory the store's relative log paths are under. */
  logDir: string;
  now(): number;
}

/** The run whose job asks: a result found is recorded as a run of the same repository, ref and pipeline. */
export interface AskingRun {
  repo: string;
  ref: string;
  pipeline: Pipeline;
  workspace: string;
}

export class RemoteResults {
  readonly #o: RemoteResultsOptions;
  readonly #client: RemoteCacheClient;

  constructor(options: RemoteResultsOptions) {
    this.#o = options;
    this.#client = new RemoteCacheClient(options.config, options.token);
  }

  /** The server and team, for messages. */
  get where(): string {
    return `${this.#o.config.url} (team ${this.#o.config.team})`;
  }

  /**
   * Asks the server for the result of `job` of `inputs`, by its remote `key`; one found and whole is kept
   * locally under `inputs` and recorded as a run, whose id this gives (undefined: the server has none).
   * Throws a RemoteCacheError when the server fails or the artifact is refused; nothing of a refused
   * artifact is kept.
   */
  async fetch(job: Job, inputs: string, key: string, run: AskingRun): Promise<number | undefined> {
    const { config, signatureKey, store } = this.#o;
    const downloaded = await this.#client.get(key, AbortSignal.timeout(config.timeoutMs));
    if (downloaded === undefined) return undefined;
    // Whole first (a truncated or altered artifact says so), then whose: the signature, when there is a key.
    const signed = signatureKey === null ? undefined : { key: signatureKey, team: config.team, tag: downloaded.tag };
    const result = unpackResult(key, downloaded.bytes, signed);
    if (result.job !== job.name) throw new RemoteArtifactCorruptError(key, `it holds job ${result.job}, not ${job.name}`);
    await this.#keepFiles(job, inputs, result);
    const id = store.recordRemoteResult({
      repo: run.repo,
      ref: run.ref,
      pipeline: { ...run.pipeline, jobs: [job] },
      workspace: run.workspace,
      job: job.name,
      inputs,
      startedAt: result.startedAt,
      finishedAt: result.finishedAt,
      steps: result.steps.map(({ log: _, ...step }) => step),
    });
    await Promise.all(
      result.steps.map(async (step, position) => {
        const path = join(this.#o.logDir, stepLogPath(id, job.name, 1, position));
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, step.log);
      }),
    );
    return id;
  }

  /** Uploads, as the artifact of `key`, the result of run `runId`'s complete `job` of `inputs`, unless the server has it already. */
  async upload(job: Job, inputs: string, key: string, runId: number): Promise<void> {
    const { config, signatureKey } = this.#o;
    const signal = AbortSignal.timeout(config.timeoutMs);
    if (await this.#client.has(key, signal)) return;
    const result = await this.#resultOf(job, inputs, key, runId);
    if (result === undefined) return; // the run was removed meanwhile: nothing of it to send
    const bytes = packResult(result);
    await this.#client.put(key, bytes, signatureKey === null ? null : artifactTag(signatureKey, key, config.team, bytes), signal);
  }

  async #resultOf(job: Job, inputs: string, key: string, runId: number): Promise<ResultArtifact | undefined> {
    const view = this.#o.store.getRun(runId)?.jobs.find((j) => j.name === job.name);
    if (!view || view.startedAt === null || view.finishedAt === null) return undefined;
    const steps = await Promise.all(
      view.steps
        .filter((s) => s.attempt === view.attempt)
        .map(async (s) => ({
          name: s.name,
          command: s.command,
          state: s.state === "failed" ? ("failed" as const) : s.state === "complete" ? ("complete" as const) : ("skipped" as const),
          exitCode: s.exitCode,
          startedAt: s.state === "skipped" ? null : s.startedAt,
          finishedAt: s.finishedAt ?? view.finishedAt!,
          log: await readFile(join(this.#o.logDir, s.log)).catch(() => Buffer.alloc(0)),
        })),
    );
    const kept = JobResults.leavesSomething(job) ? await this.#o.results.kept(inputs) : undefined;
    const files: ArtifactFile[] = [];
    for (const path of kept?.paths ?? []) await gather(kept!.dir, path, files);
    return {
      inputs: key,
      job: job.name,
      startedAt: view.startedAt,
      finishedAt: view.finishedAt,
      steps,
      outputs: kept?.outputs ?? {},
      files,
    };
  }

  /** The result's files and outputs in the local results, as the job would have kept them; none outside its `outputs:` paths. */
  async #keepFiles(job: Job, inputs: string, result: ResultArtifact): Promise<void> {
    // Nothing is written through a link the artifact made: a path under one, or a second entry of one path
    // (a file written after a link of its name would follow it), is refused wherever it comes in the list.
    // Nor does a link lead out of the workspace once put back there (absolute, or climbing above its root).
    const links = result.files.filter((f) => f.kind === "link").map((f) => f.path);
    const seen = new Set<string>();
    for (const file of result.files) {
      const { path } = file;
      const inside = workspacePath(path) === path && job.outputPaths.some((o) => path === o || path.startsWith(`${o}/`));
      if (!inside || links.some((link) => path.startsWith(`${link}/`)))
        throw new RemoteArtifactCorruptError(result.inputs, `it holds ${path}, outside the job's outputs`);
      if (file.kind === "link" && (isAbsolute(file.target) || workspacePath(join(dirname(path), file.target)) === undefined))
        throw new RemoteArtifactCorruptError(result.inputs, `it holds ${path}, a link to ${file.target}, outside the workspace`);
      if (seen.has(path)) throw new RemoteArtifactCorruptError(result.inputs, `it holds ${path} twice`);
      seen.add(path);
    }
    await this.#o.results.keepWritten(job, inputs, result.outputs, this.#o.now(), async (root) => {
      // Directories first, in order (a parent before what is in it), then files and links, several at once.
      const made = new Set<string>();
      for (const file of result.files) {
        if (file.kind !== "directory") continue;
        await mkdir(join(root, file.path), { recursive: true, mode: file.mode | 0o700 });
        made.add(file.path);
      }
      const rest = result.files.filter((f) => f.kind !== "directory");
      for (let i = 0; i < rest.length; i += WRITES_AT_ONCE) {
        await Promise.all(
          rest.slice(i, i + WRITES_AT_ONCE).map(async (file) => {
            const to = join(root, file.path);
            await mkdir(dirname(to), { recursive: true });
            if (file.kind === "file") await writeFile(to, file.data, { mode: file.mode, flush: true });
            else if (file.kind === "link") await symlink(file.target, to);
          }),
        );
      }
      // The names in every directory written to, on the disk too (the outputs' parents are flushed by the save).
      for (const file of rest) if (dirname(file.path) !== ".") made.add(dirname(file.path));
      for (const dir of made) await flush(join(root, dir));
      return job.outputPaths.filter((o) => result.files.some((f) => f.path === o || f.path.startsWith(`${o}/`)));
    });
  }
}

/** Files written at once: enough to keep the thread pool busy, few enough for any descriptor limit. */
const WRITES_AT_ONCE = 16;

/** `path` under `root` (a file, a directory and what is in it, a symlink as a link) into `files`. */
async function gather(root: string, path: string, files: ArtifactFile[]): Promise<void> {
  const at = join(root, path);
  const stats = await lstat(at).catch(() => undefined);
  if (!stats) return;
  if (stats.isSymbolicLink()) files.push({ path, kind: "link", target: await readlink(at) });
  else if (stats.isFile()) files.push({ path, kind: "file", mode: stats.mode & 0o777, data: await readFile(at) });
  else if (stats.isDirectory()) {
    files.push({ path, kind: "directory", mode: stats.mode & 0o777 });
    for (const name of (await readdir(at)).sort()) await gather(root, `${path}/${name}`, files);
  }
}
