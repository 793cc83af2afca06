import type { Migration } from "./migration.js";

// Runs, jobs and steps. The CHECKs make the impossible states of a run (ARCHITECTURE.md, section 11) unrepresentable; STRICT
// makes SQLite refuse a value of the wrong type (a time that is not an integer, say).
export const migration: Migration = {
  version: 1,
  up: `
CREATE TABLE runs (
  id              INTEGER PRIMARY KEY AUTOINCREMENT,
  repo            TEXT    NOT NULL,
  ref             TEXT    NOT NULL,
  pipeline        TEXT    NOT NULL,
  pipeline_file   TEXT    NOT NULL,
  spec            TEXT    NOT NULL CHECK (json_valid(spec)),
  state           TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'complete', 'failed', 'cancelled', 'superseded')),
  failure_kind    TEXT             CHECK (failure_kind IN ('pipeline-failure', 'timeout', 'orphaned', 'internal')),
  failure_summary TEXT             CHECK (length(failure_summary) <= 600),
  -- Deferred: a new run supersedes the live one before it is inserted (the unique index allows one live run).
  superseded_by   INTEGER          REFERENCES runs (id) DEFERRABLE INITIALLY DEFERRED,
  created_at      INTEGER NOT NULL,
  started_at      INTEGER,
  finished_at     INTEGER,
  commit_sha      TEXT,
  tree            TEXT,
  dirty           INTEGER NOT NULL CHECK (dirty IN (0, 1)),
  workspace       TEXT    NOT NULL,
  token_hash      BLOB,
  CHECK (CASE state
    WHEN 'pending'  THEN started_at IS NULL AND finished_at IS NULL
    WHEN 'active'   THEN started_at IS NOT NULL AND finished_at IS NULL
    WHEN 'complete' THEN started_at IS NOT NULL AND finished_at IS NOT NULL
    ELSE finished_at IS NOT NULL
  END),
  CHECK (started_at >= created_at),
  CHECK (finished_at >= coalesce(started_at, created_at)),
  CHECK ((state = 'failed') = (failure_kind IS NOT NULL)),
  CHECK ((state = 'failed') = (failure_summary IS NOT NULL)),
  CHECK ((state = 'superseded') = (superseded_by IS NOT NULL)),
  CHECK (superseded_by > id),
  CHECK (token_hash IS NULL OR state IN ('pending', 'active'))
) STRICT;

CREATE UNIQUE INDEX runs_one_live ON runs (repo, ref, pipeline) WHERE state IN ('pending', 'active');
CREATE UNIQUE INDEX runs_token ON runs (token_hash) WHERE token_hash IS NOT NULL;

CREATE TABLE jobs (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  name        TEXT    NOT NULL CHECK (name <> ''),
  position    INTEGER NOT NULL CHECK (position >= 0),
  state       TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'complete', 'failed', 'cancelled', 'skipped')),
  attempt     INTEGER NOT NULL CHECK (attempt >= 1),
  exit_code   INTEGER,
  started_at  INTEGER,
  finished_at INTEGER,
  UNIQUE (run_id, name),
  UNIQUE (run_id, position),
  CHECK (CASE state
    WHEN 'pending'  THEN started_at IS NULL AND finished_at IS NULL
    WHEN 'active'   THEN started_at IS NOT NULL AND finished_at IS NULL
    WHEN 'complete' THEN started_at IS NOT NULL AND finished_at IS NOT NULL
    WHEN 'skipped'  THEN started_at IS NULL AND finished_at IS NOT NULL
    ELSE finished_at IS NOT NULL
  END),
  CHECK (finished_at >= started_at),
  CHECK (exit_code IS NULL OR state IN ('complete', 'failed', 'cancelled')),
  CHECK (state <> 'complete' OR exit_code IS NULL OR exit_code = 0),
  CHECK (state <> 'failed' OR exit_code IS NULL OR exit_code <> 0)
) STRICT;

CREATE TABLE steps (
  id          INTEGER PRIMARY KEY,
  job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  attempt     INTEGER NOT NULL CHECK (attempt >= 1),
  position    INTEGER NOT NULL CHECK (position >= 0),
  name        TEXT    NOT NULL,
  command     TEXT    NOT NULL,
  state       TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'complete', 'failed', 'cancelled', 'skipped')),
  exit_code   INTEGER,
  started_at  INTEGER,
  finished_at INTEGER,
  -- Relative to the home's logs/ directory, and staying inside it.
  log         TEXT    NOT NULL CHECK (log <> '' AND substr(log, 1, 1) <> '/' AND '/' || log || '/' NOT LIKE '%/../%'),
  UNIQUE (job_id, attempt, position),
  CHECK (CASE state
    WHEN 'pending'  THEN started_at IS NULL AND finished_at IS NULL
    WHEN 'active'   THEN started_at IS NOT NULL AND finished_at IS NULL
    WHEN 'complete' THEN started_at IS NOT NULL AND finished_at IS NOT NULL
    WHEN 'skipped'  THEN started_at IS NULL AND finished_at IS NOT NULL
    ELSE finished_at IS NOT NULL
  END),
  CHECK (finished_at >= started_at),
  CHECK (exit_code IS NULL OR state IN ('complete', 'failed', 'cancelled')),
  CHECK (state <> 'complete' OR exit_code IS 0),
  CHECK (state <> 'failed' OR exit_code IS NULL OR exit_code <> 0)
) STRICT;
`,
};
