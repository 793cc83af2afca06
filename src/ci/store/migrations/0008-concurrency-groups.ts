import type { Migration } from "./migration.js";

// A workflow's `concurrency` group, evaluated when its run is recorded (null: none). A run in a group is
// superseded by the group's rules instead of quire's own (one live run per repository, ref and pipeline),
// so the one-live-run index leaves it out, and two runs of one workflow, one running and one waiting its
// turn, can both be live.
export const migration: Migration = {
  version: 8,
  up: `
ALTER TABLE runs ADD COLUMN concurrency_group TEXT CHECK (concurrency_group <> '');

DROP INDEX runs_one_live;
CREATE UNIQUE INDEX runs_one_live ON runs (repo, ref, pipeline) WHERE state IN ('pending', 'active') AND concurrency_group IS NULL;
CREATE INDEX runs_live_group ON runs (repo, concurrency_group, id) WHERE state IN ('pending', 'active') AND concurrency_group IS NOT NULL;
`,
};
