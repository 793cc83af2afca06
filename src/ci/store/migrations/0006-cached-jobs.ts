import type { Migration } from "./migration.js";

// Jobs served from the job cache: a job state `cached`, the job's inputs (the SHA-256 of what its result
// depends on, recorded when it completed or was cached) and, for a cached job, the run whose complete job
// of the same inputs it was given the result of; a run may be asked to run every job (`no_cache`).
//
// SQLite cannot change a CHECK in place, so `jobs` is made anew and its rows copied, with foreign keys
// off (remakesTables): steps keep referring to `jobs`, which names the new table once it is renamed.
export const migration: Migration = {
  version: 6,
  remakesTables: true,
  up: `
CREATE TABLE jobs_new (
  id          INTEGER PRIMARY KEY,
  run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  name        TEXT    NOT NULL CHECK (name <> ''),
  position    INTEGER NOT NULL CHECK (position >= 0),
  state       TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'complete', 'failed', 'cancelled', 'skipped', 'cached')),
  attempt     INTEGER NOT NULL CHECK (attempt >= 1),
  exit_code   INTEGER,
  started_at  INTEGER,
  finished_at INTEGER,
  inputs      TEXT    CHECK (length(inputs) = 64 AND inputs NOT GLOB '*[^0-9a-f]*'),
  cached_from INTEGER REFERENCES runs (id),
  UNIQUE (run_id, name),
  UNIQUE (run_id, position),
  CHECK (CASE state
    WHEN 'pending'  THEN started_at IS NULL AND finished_at IS NULL
    WHEN 'active'   THEN started_at IS NOT NULL AND finished_at IS NULL
    WHEN 'complete' THEN started_at IS NOT NULL AND finished_at IS NOT NULL
    WHEN 'skipped'  THEN started_at IS NULL AND finished_at IS NOT NULL
    WHEN 'cached'   THEN started_at IS NULL AND finished_at IS NOT NULL
    ELSE finished_at IS NOT NULL
  END),
  CHECK (finished_at >= started_at),
  CHECK (exit_code IS NULL OR state IN ('complete', 'failed', 'cancelled')),
  CHECK (state <> 'complete' OR exit_code IS NULL OR exit_code = 0),
  CHECK (state <> 'failed' OR exit_code IS NULL OR exit_code <> 0),
  -- A cached job names the run that proved its result, and only a cached job does; never its own run.
  CHECK ((state = 'cached') = (cached_from IS NOT NULL)),
  CHECK (cached_from <> run_id),
  -- Inputs are known of a job whose result may be given to others (complete) or was given to it (cached).
  CHECK (inputs IS NULL OR state IN ('complete', 'cached')),
  CHECK (state <> 'cached' OR inputs IS NOT NULL)
) STRICT;

INSERT INTO jobs_new (id, run_id, name, position, state, attempt, exit_code, started_at, finished_at)
  SELECT id, run_id, name, position, state, attempt, exit_code, started_at, finished_at FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;

-- The job cache's question: the newest complete job of these inputs.
CREATE INDEX jobs_complete_by_inputs ON jobs (inputs) WHERE state = 'complete';

ALTER TABLE runs ADD COLUMN no_cache INTEGER NOT NULL DEFAULT 0 CHECK (no_cache IN (0, 1));
`,
};
