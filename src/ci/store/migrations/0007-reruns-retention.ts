import type { Migration } from "./migration.js";

// What a rerun needs of a run: the snapshot it ran (JSON: its trees, submodules included, and where their
// objects are; null for a plain directory's copy), and for a rerun the run whose tree it ran again (null once
// that run is removed). Removing runs finds the rows that name a run by index: a run it superseded, its reruns,
// the cached jobs given its results.
export const migration: Migration = {
  version: 7,
  up: `
ALTER TABLE runs ADD COLUMN snapshot TEXT CHECK (json_valid(snapshot));
ALTER TABLE runs ADD COLUMN rerun_of INTEGER REFERENCES runs (id) ON DELETE SET NULL CHECK (rerun_of < id);

CREATE INDEX runs_superseded_by ON runs (superseded_by) WHERE superseded_by IS NOT NULL;
CREATE INDEX runs_rerun_of ON runs (rerun_of) WHERE rerun_of IS NOT NULL;
CREATE INDEX jobs_cached_from ON jobs (cached_from) WHERE cached_from IS NOT NULL;
`,
};
