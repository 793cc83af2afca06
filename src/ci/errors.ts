import { QuireError } from "../errors.js";
import { CACHE_PATH_RULE } from "./cache/paths.js";
import { MAX_SECRET_BYTES, MIN_SECRET_BYTES } from "./rules.js";

/** Every error the CI layer raises. */
export abstract class CiError extends QuireError {}

/** Where in a pipeline file something is wrong; line and column are 1-based, absent when there is no text to point at. */
export interface PipelineLocation {
  file: string;
  line?: number;
  column?: number;
  /** The path of the offending field, e.g. `jobs.test.steps[0].run`; absent for the file as a whole. */
  field?: string;
}

/**
 * A pipeline file that cannot be used: unreadable, not YAML, or not a valid pipeline. The message reads
 * `file:line:column: field: what is wrong; what is allowed`.
 */
export class PipelineError extends CiError {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly field: string | null;

  constructor(at: PipelineLocation, problem: string, allowed: string, options?: { cause?: unknown }) {
    const where = at.line === undefined ? at.file : `${at.file}:${at.line}:${at.column ?? 1}`;
    const field = at.field === undefined ? "" : `${at.field}: `;
    super("QUIRE_ERR_PIPELINE_INVALID", `${where}: ${field}${problem}; ${allowed}`, options);
    this.file = at.file;
    this.line = at.line ?? null;
    this.column = at.line === undefined ? null : (at.column ?? 1);
    this.field = at.field ?? null;
  }
}

/** Every problem found in a pipeline file at once (a workflow's reader keeps going after the first). */
export class PipelineFindingsError extends PipelineError {
  readonly findings: readonly PipelineError[];

  constructor(found: readonly PipelineError[]) {
    const findings = [...found].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    const [first] = findings;
    super(
      { file: first!.file, line: first!.line ?? undefined, column: first!.column ?? undefined, field: first!.field ?? undefined },
      "",
      "",
    );
    this.findings = findings;
    this.message = findings.map((finding) => finding.message).join("\n");
  }
}

/**
 * quire's configuration file (config.yml) cannot be used: not YAML, an unknown setting or a value the
 * setting does not take. The message reads `file:line:column: setting: what is wrong; what is allowed`.
 */
export class SettingsError extends CiError {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly column: number | null,
    setting: string | undefined,
    problem: string,
    allowed: string,
    options?: { cause?: unknown },
  ) {
    const where = line === null ? file : `${file}:${line}:${column ?? 1}`;
    super("QUIRE_ERR_CONFIG_INVALID", `${where}: ${setting ? `${setting}: ` : ""}${problem}; ${allowed}`, options);
  }
}

/** A run id the store does not know. */
export class RunNotFoundError extends CiError {
  constructor(readonly id: number) {
    super("QUIRE_ERR_RUN_NOT_FOUND", `no run ${id}; quirectl runs lists them`);
  }
}

/** A pipeline names a secret that was never set (or one was asked to be removed that is not there). */
export class SecretMissingError extends CiError {
  constructor(readonly secret: string) {
    super("QUIRE_ERR_SECRET_MISSING", `secret ${secret} is not set; set it with: quirectl secret set ${secret} < file-holding-the-value`);
  }
}

/** A secret's name that is not SECRET_NAME's: it could not be a step's environment variable. */
export class SecretNameError extends CiError {
  constructor(readonly secret: string) {
    super("QUIRE_ERR_SECRET_NAME", `secret name "${secret}" is not allowed: use capitals, digits and _, not starting with a digit`);
  }
}

/** A secret's value too short to redact from logs, or too long for a step's environment. */
export class SecretValueError extends CiError {
  constructor(
    readonly secret: string,
    readonly bytes: number,
  ) {
    super(
      "QUIRE_ERR_SECRET_VALUE",
      `secret ${secret} must be ${MIN_SECRET_BYTES} bytes to ${MAX_SECRET_BYTES / 1024} KiB (shorter could not be redacted from logs; longer would not fit a step's environment); it is ${bytes}`,
    );
  }
}

/** A run token that names no running step: forged, of another daemon, or of a step that has ended. */
export class RunTokenError extends CiError {
  constructor() {
    super(
      "QUIRE_ERR_RUN_TOKEN",
      "QUIRE_RUN_TOKEN names no running step: annotate works only from inside a step while it runs, with that step's own token",
    );
  }
}

/** The ci backend is draining and takes no new runs. */
export class CiShuttingDownError extends CiError {
  constructor() {
    super("QUIRE_ERR_CI_SHUTTING_DOWN", "the ci backend is shutting down; run it again in a moment");
  }
}

/** A workflow step's working-directory, once evaluated, leaves the run's workspace. */
export class WorkingDirectoryError extends CiError {
  constructor(readonly directory: string) {
    super(
      "QUIRE_ERR_WORKING_DIRECTORY",
      `the step's working-directory \`${directory}\` leaves the run's workspace; give a directory inside the repository`,
    );
  }
}

/** A workflow's `concurrency:` whose expressions fail when its run is to be recorded: nothing is recorded. */
export class ConcurrencyGroupError extends CiError {
  constructor(readonly reason: string) {
    super("QUIRE_ERR_CONCURRENCY_GROUP", `the workflow's concurrency group could not be evaluated: ${reason}; fix its \`concurrency:\``);
  }
}

/** A submission whose deadline passed before its run was recorded: it is not recorded, and never will be. */
export class NotRecordedError extends CiError {
  constructor(readonly deadline: number) {
    super(
      "QUIRE_ERR_CI_NOT_RECORDED",
      `the run was not recorded: its submission's deadline (${new Date(deadline).toISOString()}) passed first, and nothing of it will run; submit it again`,
    );
  }
}

/** An idempotency key the store cannot keep. */
export class IdempotencyKeyError extends CiError {
  constructor(length: number, limit: number) {
    super(
      "QUIRE_ERR_CI_IDEMPOTENCY_KEY",
      `an idempotency key holds 1 to ${limit} characters; this one has ${length}: send a shorter one, or none`,
    );
  }
}

/** A dependency cache's path, once its step's expressions are evaluated, is not one a cache may hold. */
export class CachePathError extends CiError {
  constructor(readonly path: string) {
    super("QUIRE_ERR_CACHE_PATH", `the cache path \`${path}\` is not one quire caches: ${CACHE_PATH_RULE}`);
  }
}

/** A dependency cache's key, once evaluated, is empty, longer than 512 characters or holds a comma (as actions/cache refuses). */
export class CacheKeyError extends CiError {
  constructor(readonly key: string) {
    super(
      "QUIRE_ERR_CACHE_KEY",
      `the cache key \`${key.slice(0, 80)}${key.length > 80 ? "…" : ""}\` cannot be used: a key is 1 to 512 characters without a comma`,
    );
  }
}

/** A cache entry (a dependency cache, or a job's kept result) could not be read, saved or put back. */
export class CacheEntryError extends CiError {
  constructor(
    readonly what: string,
    cause: unknown,
  ) {
    super(
      "QUIRE_ERR_CACHE_ENTRY",
      `${what} failed: ${(cause as Error)?.message ?? cause}; the job went on without it (check the disk under QUIRE_HOME/cache)`,
      { cause },
    );
  }
}

/** A rerun of a run that is still pending or active: it has no end to run again from yet. */
export class RerunLiveError extends CiError {
  constructor(
    readonly id: number,
    readonly state: string,
  ) {
    super(
      "QUIRE_ERR_RERUN_LIVE",
      `run ${id} is ${state}: only a run that has ended can be run again; wait for it (quirectl watch ${id}) or cancel it (quirectl cancel ${id})`,
    );
  }
}

/** `rerun --failed` of a run none of whose jobs failed or was cancelled. */
export class RerunNothingFailedError extends CiError {
  constructor(readonly id: number) {
    super(
      "QUIRE_ERR_RERUN_NOTHING_FAILED",
      `run ${id} has no failed or cancelled job: nothing to run again with --failed; quirectl rerun ${id} runs every job`,
    );
  }
}

/** A rerun of a run whose tree quire does not have: a plain directory's copy, or one from before runs kept their trees. */
export class RerunNoTreeError extends CiError {
  constructor(
    readonly id: number,
    why: string,
  ) {
    super("QUIRE_ERR_RERUN_NO_TREE", `run ${id} cannot be run again: ${why}; run the pipeline anew with quirectl run`);
  }
}

/** A rerun whose trees (or base commit) are no longer where the run had them. */
export class RerunTreeGoneError extends CiError {
  constructor(
    readonly id: number,
    missing: { repo: string; id: string }[],
  ) {
    const what = missing.map((m) => `${m.id.slice(0, 12)} of ${m.repo}`).join(", ");
    super(
      "QUIRE_ERR_RERUN_TREE_GONE",
      `run ${id} cannot be run again: ${what} ${missing.length === 1 ? "is" : "are"} no longer there (the repository was removed, or its history rewritten and pruned); run the pipeline anew with quirectl run`,
    );
  }
}

/**
 * The remote job-result cache could not be asked or told (unreachable, too slow, the token refused, the
 * server failing), or what it gave back cannot be used. Never a job's failure: the run goes on with the
 * local cache, and the job's annotation and the daemon log say which of these it was.
 */
export abstract class RemoteCacheError extends CiError {}

/** The server did not answer: refused, unreachable, or no answer within the time bound. */
export class RemoteCacheUnreachableError extends RemoteCacheError {
  constructor(
    readonly url: string,
    why: string,
    cause?: unknown,
  ) {
    super(
      "QUIRE_ERR_REMOTE_CACHE_UNREACHABLE",
      `the remote cache at ${url} could not be reached (${why}); the run went on with the local cache`,
      {
        cause,
      },
    );
  }
}

/** The server said 401 or 403: the token is wrong, expired, or not allowed for the team. */
export class RemoteCacheDeniedError extends RemoteCacheError {
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(
      "QUIRE_ERR_REMOTE_CACHE_DENIED",
      `the remote cache at ${url} refused the token (HTTP ${status}); check the secret named by cache.remote.token (quirectl secret set NAME) and the team; the run went on with the local cache`,
    );
  }
}

/** The server answered with a status quire did not expect (a 5xx, say). */
export class RemoteCacheStatusError extends RemoteCacheError {
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super("QUIRE_ERR_REMOTE_CACHE_STATUS", `the remote cache at ${url} answered HTTP ${status}; the run went on with the local cache`);
  }
}

/** An artifact that is not whole: truncated, altered, not quire's, or not of the hash asked for. Never restored. */
export class RemoteArtifactCorruptError extends RemoteCacheError {
  constructor(
    readonly hash: string,
    why: string,
  ) {
    super(
      "QUIRE_ERR_REMOTE_ARTIFACT_CORRUPT",
      `the remote cache's artifact ${hash} was refused: ${why}; nothing of it was restored, and the job ran`,
    );
  }
}

/** An artifact without the signature the configured key gives it, or with another: never restored. */
export class RemoteArtifactSignatureError extends RemoteCacheError {
  constructor(
    readonly hash: string,
    why: string,
  ) {
    super(
      "QUIRE_ERR_REMOTE_ARTIFACT_SIGNATURE",
      `the remote cache's artifact ${hash} was refused: ${why}; check that every machine signs with the same key (cache.remote.signature-key); nothing of it was restored, and the job ran`,
    );
  }
}
