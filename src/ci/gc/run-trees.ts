// The trees a run ran, kept for as long as the run is (`quirectl rerun` runs them again): its tree and
// what was staged, and its checked-out submodules' likewise, each in the object store of its repository
// (QUIRE_HOME/git, see workspace/object-stores.ts), under refs of quire's own. Nothing is added to the
// person's repository: no ref they see, no object. Retention forgets a removed run's refs; the objects
// only they held go with the store's next prune.
import { createHash } from "node:crypto";
import type { ObjectStores } from "../workspace/object-stores.js";
import { newKeptName } from "../workspace/object-stores.js";
import type { GitSnapshot } from "../workspace/snapshot.js";

/** Keeps every tree of `snapshot` for run `runId`. */
export async function keepRunTrees(stores: ObjectStores, runId: number, snapshot: GitSnapshot): Promise<void> {
  for (const { snapshot: s, prefix } of everySnapshot(snapshot)) {
    await stores.keepForRun(s.store, runId, { [`${prefix}tree`]: s.tree, [`${prefix}staged`]: s.staged });
  }
}

/** The trees (and commits) of `snapshot` that its stores no longer have, with the repository each belonged to. */
export async function missingTrees(stores: ObjectStores, snapshot: GitSnapshot): Promise<{ repo: string; id: string }[]> {
  const missing = [];
  for (const { snapshot: s } of everySnapshot(snapshot)) {
    for (const id of new Set([s.tree, s.staged, ...(s.commit ? [s.commit] : [])])) {
      if (!(await stores.has(s.store, id))) missing.push({ repo: s.repo, id });
    }
  }
  return missing;
}

/**
 * `snapshot` as a new snapshot of the same trees for a workspace of its own: each store keeps them again
 * under a fresh name (the workspace lets go of it when it goes, as it does a snapshot's).
 */
export async function keptAfresh(stores: ObjectStores, snapshot: GitSnapshot): Promise<GitSnapshot> {
  const kept = newKeptName();
  await stores.exclusive(snapshot.store, () => stores.keep(snapshot.store, kept, { tree: snapshot.tree, staged: snapshot.staged }));
  const submodules = [];
  for (const sub of snapshot.submodules)
    submodules.push({ path: sub.path, snapshot: sub.snapshot && (await keptAfresh(stores, sub.snapshot)) });
  return { ...snapshot, kept, submodules };
}

// The snapshot and its submodules' snapshots, each with the prefix of its refs' keys.
function everySnapshot(snapshot: GitSnapshot, prefix = ""): { snapshot: GitSnapshot; prefix: string }[] {
  return [
    { snapshot, prefix },
    ...snapshot.submodules.flatMap((sub) =>
      sub.snapshot
        ? everySnapshot(sub.snapshot, `${prefix}module-${createHash("sha256").update(sub.path).digest("hex").slice(0, 12)}-`)
        : [],
    ),
  ];
}
