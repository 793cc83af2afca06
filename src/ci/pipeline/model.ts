// The parsed, validated pipeline: plain data, JSON-serialisable, stored with each run. Every field is
// present (defaults applied) so nothing downstream re-derives them.

export interface Pipeline {
  /** Which reader made it: quire.yml's or a GitHub Actions workflow's. The runner never needs to know. */
  kind: "quire" | "github";
  /** The file's `name`, else the file's base name without its extension. */
  name: string;
  /** The path the pipeline was read from, as given to the parser. */
  file: string;
  env: Record<string, string>;
  /** In file order; a matrix job's legs each a job. */
  jobs: Job[];
  /** A workflow's `on`, as written (JSON): recorded for triggers; a run asked for by hand ignores it. */
  on: unknown;
  /**
   * A workflow's `concurrency`, evaluated when a run is recorded: in a group, one run is in progress and one
   * waits its turn; a newer run supersedes the waiting one (and, with cancelInProgress, the one in progress
   * too). A run with a group is not superseded by quire's own rule (same repository, ref and pipeline).
   */
  concurrency: Concurrency | null;
  /** quire.yml's `cache.remote`: the job cache shared on a remote cache server; null: quire's configuration decides. */
  remoteCache: RemoteCache | null;
}

/** A Turborepo remote cache server the job cache is shared on (README.md, "Sharing results"). */
export interface RemoteCache {
  /** The server's base URL (http or https); the API is under `/v8/artifacts/`. */
  url: string;
  /** The team (`teamId`) artifacts are kept under. */
  team: string;
  /** The name of the quire secret holding the bearer token: the token itself is never written in a file. */
  tokenSecret: string;
  /** The name of the quire secret holding the key artifacts are signed with (`x-artifact-tag`); null: unsigned. */
  signatureKeySecret: string | null;
  /** How long one request may take before the run goes on without it. */
  timeoutMs: number;
}

/** `concurrency:` of a workflow or job: the group, and `cancel-in-progress` (true, false or an expression). */
export interface Concurrency {
  group: Template;
  cancelInProgress: boolean | Template;
}

/** Text that may hold `${{ }}` expressions, already checked; the runner evaluates it when it gets there. */
export type Template = string;

/**
 * A `strategy.matrix` computed by expressions: one (`${{ fromJSON(needs.setup.outputs.matrix) }}`), or a
 * mapping (JSON, as written) some of whose values are (`node: ${{ fromJSON(needs.x.outputs.versions) }}`).
 */
export type MatrixTemplate = Template | { [key: string]: unknown };

export interface Job {
  /** Unique in the pipeline: quire.yml's `[A-Za-z0-9_-]+`, or a workflow job's id or leg name (`test (20, ubuntu-latest)`). */
  name: string;
  /** The job id this is a leg of (`needs` in a workflow names groups); quire.yml: the name. */
  group: string;
  /** Names of jobs in this pipeline that must complete first; no duplicates, no cycles. */
  needs: string[];
  env: Record<string, Template>;
  /** Positive, at most MAX_DURATION_MS; null: no limit. */
  timeoutMs: number | null;
  /** Extra attempts after a failure, 0..10. */
  retries: number;
  /** Names of stored secrets exported to the steps, each matching SECRET_NAME (rules.ts), no duplicates. */
  secrets: string[];
  /** Relative to the workspace root, normalised (`a/b`, `.` for the root itself), never leaving it; null: the root. */
  workingDirectory: string | null;
  /** Non-empty. */
  steps: Step[];
  /** When the job runs, once its needs have ended; null: when they all completed (`success()`). */
  condition: Template | null;
  /** A failure of this job does not fail the run or its dependents. */
  continueOnError: boolean;
  /** Values the job hands to the jobs that need it, by name. */
  outputs: Record<string, Template>;
  /** This leg's matrix values; null for a job without a matrix. */
  matrix: Record<string, unknown> | null;
  strategy: { failFast: boolean; maxParallel: number | null; index: number; total: number } | null;
  /**
   * What of a workflow job is known only once it is ready (its needs ended, their outputs known), when
   * the runner resolves it as GitHub does: a matrix computed by an expression (the job, named by its id
   * until then, is replaced by its legs) and a name that uses `github` or `needs`. null: the job is as read.
   */
  deferred: { matrix: MatrixTemplate | null; name: Template | null } | null;
  /** A workflow job's `concurrency`, between jobs of different runs: evaluated when the job is ready; null: none. */
  concurrency: Concurrency | null;
  /** The runner labels asked for; empty for quire.yml. */
  runsOn: string[];
  /** Why this job is skipped without running (another operating system's leg); null: it runs. */
  skipReason: string | null;
  /** Its steps run in the sandbox (README, "The sandbox"); false: with everything the person can reach, and a warning. */
  sandbox: boolean;
  /** Its sandboxed steps reach the network; false: a loopback of their own only. Never false without the sandbox. */
  network: boolean;
  /** Dependency caches (`cache:`), restored before the first step and saved once an attempt completes. */
  cache: DependencyCache[];
  /**
   * The paths whose tree, with the job's definition and its needs' results, decides its result; null: the
   * whole tree. Paths here and in `outputPaths` and `cache` are relative to the directory steps start in
   * (quire.yml's; a workflow's repository root), normalised, never leaving it.
   */
  inputs: string[] | null;
  /** Paths the job makes, kept with its result; where a later job is cached from it, put back for the jobs that run after it. */
  outputPaths: string[];
  /**
   * The tree part of the job's inputs, set when the run is submitted: the run's tree, or a hash of the
   * subtrees `inputs` names; null: none (not a git tree), and the job's result is never cached.
   */
  inputTree: string | null;
}

/** A dependency cache, as `actions/cache` has it: entries by key, restored by key or by a prefix of one. */
export interface DependencyCache {
  /** Evaluated when the job starts; may use `hashFiles()`. Entries are the repository's own unless it starts with `shared:`. */
  key: Template;
  /** What the entry holds (files or directories); non-empty. */
  paths: string[];
  /** Prefixes tried in order, newest entry first, when no entry has `key` itself. */
  restoreKeys: Template[];
}

export interface Step {
  /** The step's `name`, else the first non-blank line of `run`, trimmed, at most 60 characters. */
  name: string;
  /**
   * A workflow step's `name` as written, whose `${{ }}` are evaluated where their contexts are known (as
   * it starts, at the latest); false for a name made of its `run` or `uses`, shown as written, as GitHub does.
   */
  namedByExpression?: boolean;
  /** The shell command; non-empty unless `action` is set. */
  run: Template;
  env: Record<string, Template>;
  timeoutMs: number | null;
  /** Relative to the workspace root (not to the job's directory), normalised; replaces the job's; null: the job's. */
  workingDirectory: Template | null;
  /** A workflow step's `id`, naming it in `steps.<id>`; null without one. */
  id: string | null;
  /** When the step runs; null: when every step before it succeeded (`success()`). */
  condition: Template | null;
  /** `true`, `false` or an expression: a failure of this step does not fail the job. */
  continueOnError: Template;
  /** bash, sh, python, or a command with `{0}`; null: quire's strict bash (or sh). */
  shell: Template | null;
  /**
   * An action the step runs, with its inputs: a well-known one done by quire on the host, `local` (a
   * `./path` action, replaced by its steps once the run's tree is there), `kept` (another repository's,
   * from quire's action cache, likewise) or `node` (a JavaScript action's `entry`, run with the host's
   * node); null for a `run` step.
   */
  action: {
    uses: string;
    adapter:
      | "checkout"
      | "setup-node"
      | "setup-python"
      | "setup-go"
      | "setup-java"
      | "cache"
      | "cache-restore"
      | "cache-save"
      | "local"
      | "kept"
      | "node";
    with: Record<string, Template>;
    /** For `node`: the script to run, relative to the workspace root (or absolute, for a kept action). */
    entry?: string;
  } | null;
  /** Inside a composite action: its `inputs` (templates of the step that used it); null elsewhere. */
  inputs: Record<string, Template> | null;
  /** Inside a composite action: the scope its `steps` context is (one per use of the action); null: the job's. */
  scope: string | null;
  /** The last step of a composite action: the action's `outputs`, recorded for the step that used it (by id). */
  scopeEnd: { id: string | null; outputs: Record<string, Template> } | null;
}

type Required<T, K extends keyof T> = Pick<T, K> & Partial<Omit<T, K>>;

/** A step with quire.yml's defaults for every field not given. */
export function stepOf(fields: Required<Step, "name" | "run">): Step {
  return {
    env: {},
    timeoutMs: null,
    workingDirectory: null,
    id: null,
    condition: null,
    continueOnError: "false",
    shell: null,
    action: null,
    inputs: null,
    scope: null,
    scopeEnd: null,
    ...fields,
  };
}

/** A job with quire.yml's defaults for every field not given. */
export function jobOf(fields: Required<Job, "name" | "steps">): Job {
  return {
    group: fields.name,
    needs: [],
    env: {},
    timeoutMs: null,
    retries: 0,
    secrets: [],
    workingDirectory: null,
    condition: null,
    continueOnError: false,
    outputs: {},
    matrix: null,
    strategy: null,
    deferred: null,
    concurrency: null,
    runsOn: [],
    skipReason: null,
    sandbox: true,
    network: true,
    cache: [],
    inputs: null,
    outputPaths: [],
    inputTree: null,
    ...fields,
  };
}

/** A quire.yml pipeline with defaults for every field not given. */
export function pipelineOf(fields: Required<Pipeline, "name" | "file" | "jobs">): Pipeline {
  return { kind: "quire", env: {}, on: null, concurrency: null, remoteCache: null, ...fields };
}
