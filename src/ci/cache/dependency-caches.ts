// Dependency caches, as actions/cache has them: an entry is found by its key, else by the newest entry
// whose key starts with one of the restore keys, tried in order; an entry holds exactly the paths it was
// saved with, so a cache of other paths under the same key is another entry. Entries belong to their
// repository (a key starting with `shared:` is shared between repositories): QUIRE_HOME/cache/deps/<repo's
// namespace>/<entry>.
import { createHash } from "node:crypto";
import type { OutputsKeeper } from "../workspace/kept-outputs.js";
import { EntryStore, type EntryHeader, type SaveResult } from "./entry-store.js";

/** A key (and prefixes) and the paths under a directory, as a job's `cache:` or an actions/cache step give them. */
export interface CacheRequest {
  key: string;
  paths: readonly string[];
  restoreKeys: readonly string[];
}

/** What a restore found: the key itself, an entry by a restore key, or nothing. */
export type Restored = { hit: "exact" | "prefix"; key: string } | { hit: "miss" };

const SHARED = "shared:";

interface DependencyMeta {
  key: string;
  /** The paths it was saved for (those of them that existed are its `paths`). */
  wanted: string[];
}

export class DependencyCaches {
  readonly #entries: EntryStore<DependencyMeta>;

  /** Entries under `root` (QUIRE_HOME/cache). */
  constructor(root: string) {
    this.#entries = new EntryStore(root, "deps");
  }

  /**
   * Finds the entry for `request` in `repo`'s caches; unless `lookupOnly`, copies its paths under `dir`
   * (what `kept` holds of them is taken instead).
   */
  async restore(
    repo: string,
    request: CacheRequest,
    dir: string,
    options: { lookupOnly?: boolean; kept?: OutputsKeeper } = {},
  ): Promise<Restored> {
    const found = await this.#find(repo, request);
    if (!found) return { hit: "miss" };
    if (!options.lookupOnly) await this.#entries.restore(found.name, found.entry, dir, options.kept);
    return { hit: found.entry.key === request.key ? "exact" : "prefix", key: found.entry.key };
  }

  /**
   * Saves the paths under `dir` as the entry of `key` in `repo`'s caches, unless there is one already
   * (`kept`: the workspace keeps what it saved as a copy of the entry).
   */
  async save(
    repo: string,
    request: Omit<CacheRequest, "restoreKeys">,
    dir: string,
    now: number,
    options: { kept?: OutputsKeeper } = {},
  ): Promise<SaveResult> {
    return this.#entries.save(
      entryName(repo, request.key, request.paths),
      dir,
      request.paths,
      { key: request.key, wanted: [...request.paths] },
      now,
      options,
    );
  }

  async #find(repo: string, request: CacheRequest): Promise<{ name: string; entry: DependencyMeta & EntryHeader } | undefined> {
    const exact = entryName(repo, request.key, request.paths);
    const entry = await this.#entries.read(exact);
    if (entry?.key === request.key) return { name: exact, entry };
    for (const prefix of request.restoreKeys) {
      let newest: { name: string; entry: DependencyMeta & EntryHeader } | undefined;
      for (const name of await this.#entries.names(namespace(repo, prefix))) {
        const candidate = await this.#entries.read(name);
        if (!candidate?.key.startsWith(prefix) || pathsKey(candidate.wanted) !== pathsKey(request.paths)) continue;
        if (!newest || candidate.createdAt > newest.entry.createdAt) newest = { name, entry: candidate };
      }
      if (newest) return newest;
    }
    return undefined;
  }
}

/** The namespace a key's entries live in: the repository's, or the shared one. */
function namespace(repo: string, key: string): string {
  return key.startsWith(SHARED) ? "shared" : `repo-${sha256(repo).slice(0, 32)}`;
}

/** An entry's name: its namespace, then a hash of its key and paths (keys may hold any character). */
function entryName(repo: string, key: string, paths: readonly string[]): string {
  return `${namespace(repo, key)}/${sha256(`${key}\0${pathsKey(paths)}`)}`;
}

function pathsKey(paths: readonly string[]): string {
  return [...paths].sort().join("\0");
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
