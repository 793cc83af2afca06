// A run's workspace, made before the run is recorded: the source is snapshotted and checked out aside
// (a staging directory under the work root), then renamed into place once the run has its id, so a crash
// never leaves a half-made workspace under a run.
import { mkdirSync, readdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { materialize } from "../workspace/checkout.js";
import { commitSnapshot } from "../workspace/commit-snapshot.js";
import { snapshotSource, type Snapshot } from "../workspace/snapshot.js";
import type { Workspaces } from "../workspace/workspaces.js";

const STAGING_PREFIX = ".staging-";

/** A checkout made aside, waiting for its run. */
export interface StagedWorkspace {
  readonly snapshot: Snapshot;
  /** The checkout's root (the source's root, as the run will see it). */
  readonly root: string;
  /** Moves the checkout to run `runId`'s workspace. */
  place(runId: number): void;
  /** Removes the checkout: no run was recorded for it. */
  discard(): void;
}

export class WorkspacePreparer {
  readonly #workspaces: Workspaces;
  readonly #skip: string[];

  /** `skip` lists directories a snapshot leaves out (quire's own home). */
  constructor(workspaces: Workspaces, skip: string[]) {
    this.#workspaces = workspaces;
    this.#skip = skip;
  }

  /** Snapshots the source that `dir` is in, as it is now (or as `commit` has it), and checks it out aside. */
  async stage(dir: string, commit?: string): Promise<StagedWorkspace> {
    const snapshot = commit ? await commitSnapshot(dir, commit) : await snapshotSource(dir, { skip: this.#skip });
    const staging = join(this.#workspaces.root, `${STAGING_PREFIX}${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    const discard = () => rmSync(staging, { recursive: true, force: true });
    try {
      await materialize(snapshot, staging, { skip: this.#skip });
    } catch (error) {
      discard();
      throw error;
    }
    return { snapshot, root: staging, place: (runId) => renameSync(staging, this.#workspaces.path(runId)), discard };
  }

  /** Removes what a daemon that stopped while staging left behind. */
  removeHalfMade(): void {
    const root = this.#workspaces.root;
    mkdirSync(root, { recursive: true, mode: 0o700 });
    for (const name of readdirSync(root)) {
      if (name.startsWith(STAGING_PREFIX)) rmSync(join(root, name), { recursive: true, force: true });
    }
  }
}
