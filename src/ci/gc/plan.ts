// What retention removes, decided from what there is: a pure function, so the rules are tested without a
// disk. Of each kind, the newest are kept while they fit the count, the bytes and the age; the first one
// that does not fit the count or the bytes goes with everything older than it (so what is kept is always
// the most recent history, never a hole in it), and anything older than the age goes by itself.
import type { Bounds, RetentionLimits } from "./limits.js";

/** Why something goes: over its kind's count, age or bytes; a workspace also with its run. */
export type RemovalReason = "count" | "age" | "size" | "run";

export interface Dated {
  /** When it came to be kept (a run's end, a workspace's failure, a cache entry's save), ms since the epoch. */
  at: number;
  bytes: number;
}

export interface RunFact extends Dated {
  id: number;
  /** The runs its cached jobs were given results of: a kept run keeps them (its cached jobs show their logs). */
  cites?: readonly number[];
}

export interface WorkspaceFact extends Dated {
  runId: number;
}

export interface CacheFact extends Dated {
  /** Relative to QUIRE_HOME/cache. */
  name: string;
}

export interface Removal<T> {
  item: T;
  reason: RemovalReason;
}

export interface Retained<T> {
  kept: T[];
  removed: Removal<T>[];
}

export interface RetentionPlan {
  runs: Retained<RunFact>;
  workspaces: Retained<WorkspaceFact>;
  caches: Retained<CacheFact>;
}

export interface Inventory {
  /** Finished runs only: a live run is never removed. */
  runs: RunFact[];
  workspaces: WorkspaceFact[];
  caches: CacheFact[];
}

/** Applies `limits` to what there is at `now`. */
export function planRetention(what: Inventory, limits: RetentionLimits, now: number): RetentionPlan {
  const runs = keepCited(retain(what.runs, limits.runs, now, (a, b) => b.id - a.id));
  // A workspace is kept only for its run: it goes when the run does, whatever its own bounds say.
  const gone = new Set(runs.removed.map((r) => r.item.id));
  const orphans = what.workspaces.filter((w) => gone.has(w.runId)).sort((a, b) => b.runId - a.runId);
  const workspaces = retain(
    what.workspaces.filter((w) => !gone.has(w.runId)),
    limits.workspaces,
    now,
    (a, b) => b.at - a.at || b.runId - a.runId,
  );
  workspaces.removed.unshift(...orphans.map((item) => ({ item, reason: "run" as const })));
  const caches = retain(what.caches, limits.caches, now, (a, b) => b.at - a.at || (a.name < b.name ? 1 : -1));
  return { runs, workspaces, caches };
}

/** The newest first (by `newestFirst`), kept while they fit `bounds`. */
export function retain<T extends Dated>(
  items: readonly T[],
  bounds: Bounds,
  now: number,
  newestFirst: (a: T, b: T) => number,
): Retained<T> {
  const kept: T[] = [];
  const removed: Removal<T>[] = [];
  let bytes = 0;
  let cut: "count" | "size" | undefined;
  for (const item of [...items].sort(newestFirst)) {
    if (cut === undefined && now - item.at > bounds.ageMs) {
      removed.push({ item, reason: "age" });
      continue;
    }
    if (cut === undefined && kept.length >= bounds.count) cut = "count";
    if (cut === undefined && bytes + item.bytes > bounds.bytes) cut = "size";
    if (cut !== undefined) removed.push({ item, reason: cut });
    else {
      kept.push(item);
      bytes += item.bytes;
    }
  }
  return { kept, removed };
}

// A run a kept run cites (its cached job shows that run's logs) is kept too, over the bounds if need be,
// and so on down what that one cites.
function keepCited(runs: Retained<RunFact>): Retained<RunFact> {
  const removed = new Map(runs.removed.map((r) => [r.item.id, r]));
  const kept = [...runs.kept];
  const next = kept.flatMap((r) => r.cites ?? []);
  for (let id = next.pop(); id !== undefined; id = next.pop()) {
    const cited = removed.get(id);
    if (cited === undefined) continue;
    removed.delete(id);
    kept.push(cited.item);
    next.push(...(cited.item.cites ?? []));
  }
  return { kept: kept.sort((a, b) => b.id - a.id), removed: runs.removed.filter((r) => removed.has(r.item.id)) };
}
