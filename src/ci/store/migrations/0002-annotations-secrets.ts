import type { Migration } from "./migration.js";

// What steps tell about their run (`quirectl annotate`), and the secrets jobs name, sealed with secretbox.
export const migration: Migration = {
  version: 2,
  up: `
CREATE TABLE annotations (
  id         INTEGER PRIMARY KEY,
  run_id     INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  job        TEXT,
  step       TEXT,
  text       TEXT    NOT NULL CHECK (length(text) BETWEEN 1 AND 4096),
  created_at INTEGER NOT NULL,
  CHECK (step IS NULL OR job IS NOT NULL)
) STRICT;

CREATE INDEX annotations_run ON annotations (run_id);

CREATE TABLE secrets (
  name       TEXT    PRIMARY KEY CHECK (name GLOB '[A-Z_]*' AND name NOT GLOB '*[^A-Z0-9_]*'),
  nonce      BLOB    NOT NULL CHECK (length(nonce) = 24),
  box        BLOB    NOT NULL CHECK (length(box) >= 16),
  updated_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
`,
};
