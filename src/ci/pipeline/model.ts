// The parsed, validated pipeline: plain data, JSON-serialisable, stored with each run. Every field is
// present (defaults applied) so nothing downstream re-derives them.

export interface Pipeline {
  /** The file's `name`, else the file's base name without its extension. */
  name: string;
  /** The path the pipeline was read from, as given to the parser. */
  file: string;
  env: Record<string, string>;
  /** In file order. */
  jobs: Job[];
}

export interface Job {
  /** Matches `[A-Za-z0-9_-]+`. */
  name: string;
  /** Names of jobs in this pipeline that must complete first; no duplicates, no cycles. */
  needs: string[];
  env: Record<string, string>;
  /** Positive, at most MAX_DURATION_MS; null: no limit. */
  timeoutMs: number | null;
  /** Extra attempts after a failure, 0..10. */
  retries: number;
  /** Names of stored secrets exported to the steps, `[A-Z_][A-Z0-9_]*`, no duplicates. */
  secrets: string[];
  /** Relative to the workspace root, normalised (`a/b`, `.` for the root itself), never leaving it; null: the root. */
  workingDirectory: string | null;
  /** Non-empty. */
  steps: Step[];
}

export interface Step {
  /** The step's `name`, else the first non-blank line of `run`, trimmed, at most 60 characters. */
  name: string;
  /** The shell command; non-empty. */
  run: string;
  env: Record<string, string>;
  timeoutMs: number | null;
  /** Relative to the workspace root (not to the job's directory), normalised; replaces the job's; null: the job's. */
  workingDirectory: string | null;
}
