import type { Migration } from "./migration.js";

// Run tokens are per step: each step's QUIRE_RUN_TOKEN, stored hashed, names its run, job and step, and
// lives exactly while that step is active (the triggers make any other state unrepresentable: no token
// for a step that is not running, and none left once it ends, whichever write ends it). The run-wide
// token it replaces is no longer written: runs.token_hash stays NULL (its CHECK still holds).
export const migration: Migration = {
  version: 4,
  up: `
DROP INDEX runs_token;
UPDATE runs SET token_hash = NULL;

CREATE TABLE step_tokens (
  token_hash BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
  step_id    INTEGER NOT NULL UNIQUE REFERENCES steps (id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;

CREATE TRIGGER step_tokens_only_while_active BEFORE INSERT ON step_tokens
  WHEN (SELECT state FROM steps WHERE id = NEW.step_id) IS NOT 'active'
  BEGIN SELECT RAISE(ABORT, 'a step token is only for an active step'); END;

CREATE TRIGGER step_tokens_die_with_step AFTER UPDATE OF state ON steps
  WHEN NEW.state <> 'active'
  BEGIN DELETE FROM step_tokens WHERE step_id = NEW.id; END;
`,
};
