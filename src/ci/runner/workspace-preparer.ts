// A run's workspace, made before the run is recorded: the source is snapshotted into quire's object store
// and checked out aside, then moved into place once the run has its id (Workspaces.stage).
import { keptAfresh } from "../gc/run-trees.js";
import type { ObjectStores } from "../workspace/object-stores.js";
import { snapshotSource, type GitSnapshot, type Snapshot } from "../workspace/snapshot.js";
import type { TreeWatchers } from "../workspace/tree-watcher.js";
import type { StagedWorkspace as StagedCheckout, Workspaces } from "../workspace/workspaces.js";

/** A checkout made aside, waiting for its run. */
export interface StagedWorkspace extends StagedCheckout {
  readonly snapshot: Snapshot;
}

export class WorkspacePreparer {
  readonly #workspaces: Workspaces;
  readonly #stores: ObjectStores;
  readonly #skip: string[];
  readonly #watchers: TreeWatchers | undefined;
  // The sweep of what a previous daemon left in the stores: no snapshot is taken before it is done.
  #swept: Promise<void> = Promise.resolve();

  /**
   * `skip` lists directories a snapshot leaves out (quire's own home); with `watchers`, a working copy's
   * snapshot stats only what changed since its last one.
   */
  constructor(workspaces: Workspaces, stores: ObjectStores, skip: string[], watchers?: TreeWatchers) {
    this.#workspaces = workspaces;
    this.#stores = stores;
    this.#skip = skip;
    this.#watchers = watchers;
  }

  /** Snapshots the source that `dir` is in, as it is now (or as `commit` has it). */
  async snapshot(dir: string, commit?: string): Promise<Snapshot> {
    await this.#swept;
    return snapshotSource(dir, {
      stores: this.#stores,
      skip: this.#skip,
      ...(this.#watchers ? { watchers: this.#watchers } : {}),
      ...(commit ? { commit } : {}),
    });
  }

  /** Checks the snapshot out aside. */
  async checkOut(snapshot: Snapshot): Promise<StagedWorkspace> {
    return { snapshot, ...(await this.#workspaces.stage(snapshot)) };
  }

  /** Checks out aside, again, the snapshot a run recorded (a rerun): the same trees, kept afresh for this workspace. */
  async stageAgain(recorded: GitSnapshot): Promise<StagedWorkspace> {
    await this.#swept;
    return this.checkOut(await keptAfresh(this.#stores, recorded));
  }

  /** Stops watching the working copies. */
  close(): void {
    this.#watchers?.close();
  }

  /** Removes what a daemon that stopped while staging left behind, and the refs it kept for it. */
  removeHalfMade(): void {
    this.#workspaces.removeHalfMade();
    // A failed sweep leaves refs that hold objects no workspace needs; the next daemon's sweep has them.
    this.#swept = this.#stores.sweep(this.#workspaces.keptNames()).catch(() => undefined);
  }
}
