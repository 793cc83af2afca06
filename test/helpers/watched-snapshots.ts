// Snapshots taken through tree watchers and by the full stat, to compare: the watchers a test makes are
// closed after it.
import { join } from "node:path";
import { after } from "node:test";
import { ObjectStores } from "../../src/ci/workspace/object-stores.js";
import { type GitSnapshot, snapshotSource } from "../../src/ci/workspace/snapshot.js";
import { TreeWatchers } from "../../src/ci/workspace/tree-watcher.js";
import type { tempRepos } from "./git.js";

export function watchedSnapshots(repos: ReturnType<typeof tempRepos>) {
  const stores = new ObjectStores(join(repos.dir("stores"), "git"));
  const opened: TreeWatchers[] = [];
  after(() => {
    for (const watchers of opened) watchers.close();
  });
  return {
    stores,
    /** New watchers (a new daemon's), closed after the test file. */
    watchers(options?: ConstructorParameters<typeof TreeWatchers>[0]): TreeWatchers {
      const made = new TreeWatchers(options);
      opened.push(made);
      return made;
    },
    /** A snapshot that looks only at what `by` saw change. */
    async watchedSnapshot(repo: string, by: TreeWatchers): Promise<GitSnapshot> {
      return (await snapshotSource(repo, { stores, watchers: by })) as GitSnapshot;
    },
    /** The tree of a snapshot that looks only at what `by` saw change. */
    async watchedTree(repo: string, by: TreeWatchers): Promise<string> {
      return ((await snapshotSource(repo, { stores, watchers: by })) as GitSnapshot).tree;
    },
    /** The tree of a snapshot by the full stat. */
    async fullTree(repo: string): Promise<string> {
      return ((await snapshotSource(repo, { stores })) as GitSnapshot).tree;
    },
  };
}
