// The CI layer's rules and bounds, each written once: the pipeline parser, the runner, the store and
// quirectl import them from here. The migrations keep their own literals (a published migration never
// changes), and test/ci/rules.test.ts holds each CHECK equal to its constant here.

/** A secret's name, which is also the name of its environment variable in a step. */
export const SECRET_NAME = /^[A-Z_][A-Z0-9_]*$/;

/**
 * Values shorter than this are not redacted: a 1- or 2-byte secret ("1", "on") occurs by chance all over
 * ordinary output, and masking it would mangle the log while hiding nothing a guess would not find. So
 * no secret may be this short.
 */
export const MIN_SECRET_BYTES = 3;

/** A secret larger than this would not fit in a step's environment beside everything else. */
export const MAX_SECRET_BYTES = 64 * 1024;

/** A failed run's failure_summary, in characters (code points: SQLite's length()); a CHECK of the store. */
export const SUMMARY_MAX = 600;

/** An annotation's text, in characters; a CHECK of the store. */
export const ANNOTATION_MAX = 4096;

/** An idempotency key, in characters: what a client names a submission with; a CHECK of the store. */
export const IDEMPOTENCY_KEY_MAX = 128;

/** What asked for a run (`manual`, `post-commit`, `pre-push`, `watch`); a CHECK of the store. */
export const TRIGGER_NAME = /^[a-z0-9-]{1,32}$/;

/**
 * One request to the remote job cache (cache.remote): past it the run goes on without the answer, and a
 * run's end waits no longer than this on its uploads.
 */
export const REMOTE_CACHE_TIMEOUT_MS = 10_000;

/** An artifact of the remote job cache, up or down: turborepo-remote-cache's default body limit (100 MiB). */
export const REMOTE_ARTIFACT_MAX_BYTES = 100 * 1024 * 1024;

/** The trigger of a run that records a job's result found on the remote cache (RemoteResultRun). */
export const REMOTE_RESULT_TRIGGER = "remote-cache";

/** Between the interrupt and SIGKILL when a step's tree, or what a job left behind, is ended. */
export const KILL_GRACE_MS = 2_000;

// Bounds on a pipeline file, so that a small hostile file cannot make the parser, the store or the runner
// do unbounded work (YAML aliases can make a 44 KB file describe a million steps).

/** The whole file, checked before it is parsed (or read). */
export const MAX_PIPELINE_BYTES = 1024 * 1024;

export const PIPELINE_LIMITS = {
  jobs: 500,
  stepsPerJob: 1_000,
  /** Over all jobs. */
  steps: 5_000,
  /** One step's `run`, in UTF-8 bytes: it goes into an argv, and the kernel caps one argument at 128 KiB. */
  runBytes: 64 * 1024,
  /**
   * YAML nodes reached through aliases, counted as they are expanded (an alias to a list of ten steps
   * costs the list, its steps and everything in them, however deeply aliased). Bounds the parser's work
   * the way yaml's `maxAliasCount` bounds its `toJS()`, which the parser does not use: it walks the
   * document's nodes to keep their positions, so it is the one expanding aliases.
   */
  aliasNodes: 200_000,
  /** A workflow job's matrix legs, as on GitHub; a matrix computed when its job is ready is held to it then. */
  matrixLegs: 256,
} as const;
