import type { Migration } from "./migration.js";

// What asked for a run (quirectl by hand, a git hook, watch mode) and whether its end is told by a desktop
// notification, nobody waiting on it. Runs recorded before this migration were all asked for by hand.
// The index finds a repository's newest run per ref and pipeline, which its status file shows.
export const migration: Migration = {
  version: 5,
  up: `
ALTER TABLE runs ADD COLUMN triggered_by TEXT NOT NULL DEFAULT 'manual'
  CHECK (length(triggered_by) BETWEEN 1 AND 32 AND triggered_by NOT GLOB '*[^a-z0-9-]*');
ALTER TABLE runs ADD COLUMN notify INTEGER NOT NULL DEFAULT 0 CHECK (notify IN (0, 1));

CREATE INDEX runs_newest ON runs (repo, ref, pipeline, id);
`,
};
