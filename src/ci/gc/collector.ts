// Retention, applied: the ci backend runs a pass after runs end (and at start), `quirectl gc` asks for one.
// A pass first finishes what an interrupted one left (logs and workspaces of runs no longer in the store,
// entries moved aside), then weighs what there is against the limits (plan.ts) and removes what is over
// them: a run's rows in one transaction, then its logs and its workspace, so a crash in between leaves
// files no row names (the next pass removes them), never a row whose logs are gone.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { RunStore } from "../store/index.js";
import type { Workspaces } from "../workspace/workspaces.js";
import { cacheEntries } from "./cache-entries.js";
import { treeBytes } from "./disk-usage.js";
import type { RetentionKind, RetentionLimits } from "./limits.js";
import { planRetention, type RemovalReason } from "./plan.js";
import { discardAtomically, removeTree, trashIn } from "./trash.js";

/** Runs whose rows go in one transaction (then their files). */
const BATCH = 100;
const RUN_DIR = /^\d+$/;
const FAILED_MARKER = /^(\d+)\.failed$/;

export interface CollectorParts {
  store: RunStore;
  /** QUIRE_HOME/logs: `<run>/...` per run. */
  logDir: string;
  workspaces: Workspaces;
  /** QUIRE_HOME/cache (it may not exist). */
  cacheDir: string;
  limits: RetentionLimits;
  /** Resolves once run `id` has nothing running here any more (Runner.settled). */
  settled(id: number): Promise<void>;
  /**
   * Called at the end of a pass that is not dry, when runs may have gone since it last succeeded: what is
   * kept elsewhere for runs no longer in the store (their trees) can go, for the runs this pass removed
   * and for those an interrupted one did.
   */
  forgetRuns?(): Promise<void>;
  /** Told each batch of runs whose rows are deleted, before their files go (progress; a test stops a pass there). */
  onRowsDeleted?(ids: number[]): void;
  now?: () => number;
}

export type GcItemKind = "run" | "workspace" | "spare" | "cache" | "leftover";

/** One thing a pass removes (or, dry, would remove). */
export interface GcItem {
  kind: GcItemKind;
  /** The run, for a run or a workspace. */
  runId: number | null;
  /** A cache entry's name (relative to the cache root), a spare's working copy, or a leftover's path. */
  name: string | null;
  /**
   * Over which bound; `superseded`: it went with the run that superseded it; `leftover`: what an
   * interrupted pass left; `gone`: a spare of a working copy that is not there any more.
   */
  reason: RemovalReason | "superseded" | "leftover" | "gone";
  bytes: number;
}

export interface GcUsage {
  count: number;
  bytes: number;
}

export interface GcReport {
  dryRun: boolean;
  removed: GcItem[];
  freedBytes: number;
  /** What is kept once the pass is done (dry: would be). Live runs are not counted. */
  kept: Record<RetentionKind, GcUsage>;
  limits: RetentionLimits;
  /** Kinds this pass left alone, for a later one: caches while runs are live (a step may be restoring one). */
  deferred: RetentionKind[];
}

export class GarbageCollector {
  readonly #parts: CollectorParts;
  #passes: Promise<unknown> = Promise.resolve();
  /**
   * Whether the trees of removed runs may still be kept: by the first pass (an interrupted pass or daemon
   * left them), and until forgetRuns succeeded after a pass removed runs. A pass that removed none skips
   * it: it lists the runs' refs of every store, after every run.
   */
  #treesOwed = true;
  /**
   * The sizes of what no longer changes once it is there (a finished run's logs, a kept workspace, a cache
   * entry), by path and when it came to be, from the passes before: a pass follows every run, and walking
   * them all again each time is an lstat of every file they hold (thousands, for a few node_modules
   * entries in the cache).
   */
  #settledSizes = new Map<string, number>();
  #scheduled = false;

  constructor(parts: CollectorParts) {
    this.#parts = parts;
  }

  get limits(): RetentionLimits {
    return this.#parts.limits;
  }

  /** One pass, after any under way; `dryRun` removes nothing and says what a pass would remove. */
  collect(options: { dryRun?: boolean } = {}): Promise<GcReport> {
    const pass = this.#passes.then(() => this.#pass(options.dryRun ?? false));
    this.#passes = pass.catch(() => undefined);
    return pass;
  }

  /** Asks for a pass after the current one, unless one is already waiting; `done` gets its outcome. */
  schedule(done: (outcome: GcReport | Error) => void = () => {}): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    const pass = this.#passes.then(() => {
      this.#scheduled = false;
      return this.#pass(false);
    });
    this.#passes = pass.then(done, (error: Error) => done(error));
  }

  async #pass(dryRun: boolean): Promise<GcReport> {
    const { store, limits, logDir, workspaces, cacheDir } = this.#parts;
    const now = this.#parts.now?.() ?? Date.now();
    const removed: GcItem[] = [];
    const deferred: RetentionKind[] = [];

    // What is on disk is listed before the store is read: a run recorded meanwhile has its row by the time
    // its files exist, so no live run's files can look like a leftover. A leftover is of a run that was
    // (an id the store gave out) and is no longer; a directory named after an id never given is not ours.
    const logNames = await listDir(logDir);
    const workNames = await listDir(workspaces.root);
    const trash = [...(await trashIn(logDir)), ...(await trashIn(cacheDir))];
    const ids = store.runIds();
    const last = store.lastRunId();
    const wasRun = (id: number) => Number.isSafeInteger(id) && id <= last && !ids.has(id);
    const leftovers = [
      ...trash,
      ...logNames.filter((n) => RUN_DIR.test(n) && wasRun(Number(n))).map((n) => join(logDir, n)),
      ...workNames.filter((n) => wasRun(workspaceRun(n))).map((n) => join(workspaces.root, n)),
    ];
    for (const path of leftovers)
      removed.push({ kind: "leftover", runId: null, name: path, reason: "leftover", bytes: await treeBytes(path) });

    const cites = store.citations();
    const sizes = new Map<string, number>();
    const settledSize = async (path: string, since: number) => {
      const key = `${since}:${path}`;
      const bytes = this.#settledSizes.get(key) ?? (await treeBytes(path));
      sizes.set(key, bytes);
      return bytes;
    };
    const runs = await Promise.all(
      store.finishedRuns().map(async (run) => ({
        id: run.id,
        at: run.finishedAt,
        bytes: await settledSize(join(logDir, String(run.id)), run.finishedAt),
        cites: cites.get(run.id) ?? [],
      })),
    );
    const kept = (await workspaces.keptFailed()).filter((k) => ids.has(k.runId));
    const workspaceFacts = await Promise.all(
      kept.map(async (k) => ({ runId: k.runId, at: k.keptAt, bytes: await settledSize(k.dir, k.keptAt) })),
    );
    const entries = await cacheEntries(cacheDir);
    const cacheFacts = await Promise.all(
      entries.map(async (entry) => ({ name: entry.name, at: entry.createdAt, bytes: await settledSize(entry.dir, entry.createdAt) })),
    );
    // Only what is still there is remembered.
    this.#settledSizes = sizes;
    const plan = planRetention({ runs, workspaces: workspaceFacts, caches: cacheFacts }, limits, now);
    const cachesWait = store.liveRuns().length > 0 && plan.caches.removed.length > 0;
    if (cachesWait) deferred.push("caches");

    const workspaceItems = plan.workspaces.removed.map(
      ({ item, reason }): GcItem => ({ kind: "workspace", runId: item.runId, name: null, reason, bytes: item.bytes }),
    );
    const cacheItems = cachesWait
      ? []
      : plan.caches.removed.map(({ item, reason }): GcItem => ({ kind: "cache", runId: null, name: item.name, reason, bytes: item.bytes }));
    let runItems = plan.runs.removed.map(
      ({ item, reason }): GcItem => ({ kind: "run", runId: item.id, name: null, reason, bytes: item.bytes }),
    );

    if (!dryRun) {
      for (const path of leftovers) await removeLeftover(path, workspaces);
      if (runItems.length > 0) this.#treesOwed = true;
      runItems = await this.#removeRuns(runItems, new Map(runs.map((r) => [r.id, r.bytes])));
      for (const item of workspaceItems) await workspaces.discard(item.runId!);
      const byName = new Map(entries.map((e) => [e.name, e.dir]));
      for (const item of cacheItems) await discardAtomically(cacheDir, byName.get(item.name!)!);
      if (this.#treesOwed) await this.#parts.forgetRuns?.();
      this.#treesOwed = false;
    }
    // Spares (a restored checkout per working copy, which its next run starts from): the most recently
    // used `keepSpares`, of working copies that are still there.
    const spares = await workspaces.sparesOver();
    const spareItems = await Promise.all(
      spares.map(
        async (spare): Promise<GcItem> => ({
          kind: "spare",
          runId: null,
          name: spare.source,
          reason: spare.reason,
          bytes: await treeBytes(spare.dir),
        }),
      ),
    );
    if (!dryRun) await workspaces.dropSpares(spares);
    removed.push(...runItems, ...workspaceItems, ...spareItems, ...cacheItems);

    const usage = (items: { bytes: number }[]): GcUsage => ({ count: items.length, bytes: items.reduce((sum, i) => sum + i.bytes, 0) });
    const gone = new Set(runItems.map((r) => r.runId));
    return {
      dryRun,
      removed,
      freedBytes: removed.reduce((sum, item) => sum + item.bytes, 0),
      kept: {
        runs: usage(plan.runs.kept.filter((r) => !gone.has(r.id))),
        workspaces: usage(plan.workspaces.kept.filter((w) => !gone.has(w.runId))),
        caches: usage(cachesWait ? cacheFacts : plan.caches.kept),
      },
      limits,
      deferred,
    };
  }

  // Rows first, a batch to a transaction, then each run's logs and workspace. Returns what was removed:
  // the store also removes a run superseded by one of them.
  async #removeRuns(items: GcItem[], bytes: Map<number, number>): Promise<GcItem[]> {
    const { store, logDir, workspaces } = this.#parts;
    const planned = new Map(items.map((item) => [item.runId!, item]));
    const removed: GcItem[] = [];
    for (let i = 0; i < items.length; i += BATCH) {
      const batch = items.slice(i, i + BATCH).map((item) => item.runId!);
      // A run that has just ended may still be closing its logs or releasing its workspace.
      await Promise.all(batch.map((id) => this.#parts.settled(id)));
      const deleted = store.deleteRuns(batch);
      this.#parts.onRowsDeleted?.(deleted);
      // In the plan's order, then what went with them.
      const gone = new Set(deleted);
      const order = [...batch.filter((id) => gone.has(id)), ...deleted.filter((id) => !planned.has(id))];
      for (const id of order) {
        removed.push(planned.get(id) ?? { kind: "run", runId: id, name: null, reason: "superseded", bytes: bytes.get(id) ?? 0 });
        await removeTree(join(logDir, String(id)));
        await workspaces.discard(id);
      }
    }
    return removed;
  }
}

async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => [] as string[]);
}

// The run a workspace directory, or a failed one's marker, is named after; NaN for anything else.
function workspaceRun(name: string): number {
  return RUN_DIR.test(name) ? Number(name) : Number(FAILED_MARKER.exec(name)?.[1] ?? Number.NaN);
}

async function removeLeftover(path: string, workspaces: Workspaces): Promise<void> {
  const name = path.slice(workspaces.root.length + 1);
  if (path.startsWith(`${workspaces.root}/`) && RUN_DIR.test(name)) return workspaces.discard(Number(name));
  await removeTree(path);
}
