import type { Migration } from "./migration.js";

// The key a client names a submission with: a submit that comes again with a key a run was recorded for
// is answered with that run, so a client that lost its connection can ask again without risking a second
// run. One run per key, for the run's whole life; runs recorded before this migration have none.
export const migration: Migration = {
  version: 3,
  up: `
ALTER TABLE runs ADD COLUMN idempotency_key TEXT CHECK (length(idempotency_key) BETWEEN 1 AND 128);

CREATE UNIQUE INDEX runs_idempotency_key ON runs (idempotency_key) WHERE idempotency_key IS NOT NULL;
`,
};
