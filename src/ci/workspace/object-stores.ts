// quire's own object stores. A snapshot writes what is new (the blobs of untracked and changed files, and
// its trees) into a bare repository of quire's under QUIRE_HOME/git, one per source repository (named by
// the source's object directory), whose alternate is that object directory: nothing is written into the
// person's .git and nothing of theirs is copied. Refs in a store (`refs/quire/kept/<name>/...`) keep a
// workspace's trees for as long as the workspace is there, and `refs/quire/runs/<id>/...` a run's for as
// long as the run is kept (a rerun runs them again); once no ref holds them, a prune drops them.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { WorkspaceError } from "./errors.js";
import { git } from "./git.js";

const KEPT = "refs/quire/kept";
/** The refs `refs/quire/kept/<name>/<key>` of one snapshot. */
const KEPT_KEYS = ["tree", "staged"] as const;
const RUNS = "refs/quire/runs";
const MAKING_PREFIX = ".new-";

/** A snapshot's trees, kept under one name. */
export type KeptTrees = Record<(typeof KEPT_KEYS)[number], string>;

/** A store and one name under which it keeps objects (the name of one snapshot's refs). */
export interface KeptRefs {
  store: string;
  name: string;
}

export interface PrunePolicy {
  /**
   * Unreachable objects younger than this stay (git's `--expire`). In this process a store is never
   * pruned while a snapshot writes to it (`exclusive`); the margin is for anything else writing there.
   */
  expire?: string;
  /** A prune walks every kept tree, so it waits until the loose objects are at least this big (KiB, as git counts). */
  aboveKiB?: number;
}

export class ObjectStores {
  /** QUIRE_HOME/git. */
  readonly root: string;
  readonly #expire: string;
  readonly #aboveKiB: number;
  readonly #locks = new Map<string, Promise<void>>();

  constructor(root: string, prune: PrunePolicy = {}) {
    this.root = root;
    this.#expire = prune.expire ?? "10.minutes.ago";
    this.#aboveKiB = prune.aboveKiB ?? 16 * 1024;
  }

  /** The store (a bare git directory) for the repository whose object directory is `objects`; made on first use. */
  async open(objects: string, format: string): Promise<string> {
    const dir = join(this.root, `${createHash("sha256").update(`${format}\0${objects}`).digest("hex").slice(0, 24)}.git`);
    if (await exists(dir)) return dir;
    let temp: string;
    try {
      await mkdir(this.root, { recursive: true, mode: 0o700 });
      temp = await mkdtemp(join(this.root, MAKING_PREFIX));
    } catch (error) {
      throw new WorkspaceError(`cannot create quire's object store under ${this.root}: ${(error as Error).message}`, { cause: error });
    }
    try {
      // Made aside and renamed into place, so a store that exists is whole.
      await git(this.root, ["init", "-q", "--bare", "--template=", ...(format === "sha1" ? [] : [`--object-format=${format}`]), temp]);
      await mkdir(join(temp, "objects", "info"), { recursive: true });
      await writeFile(join(temp, "objects", "info", "alternates"), `${objects}\n`);
      await rename(temp, dir);
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      // Another snapshot of the same repository made it meanwhile.
      if (await exists(dir)) return dir;
      if (error instanceof WorkspaceError) throw error;
      throw new WorkspaceError(`cannot create quire's object store ${dir}: ${(error as Error).message}`, { cause: error });
    }
    return dir;
  }

  /** Runs `fn` alone on `store` within this process: a prune never runs between a snapshot's writing and keeping. */
  exclusive<T>(store: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#locks.get(store) ?? Promise.resolve()).then(fn);
    const tail = run.then(
      () => {},
      () => {},
    );
    this.#locks.set(store, tail);
    void tail.then(() => {
      if (this.#locks.get(store) === tail) this.#locks.delete(store);
    });
    return run;
  }

  /**
   * Makes refs `refs/quire/kept/<name>/tree` and `.../staged` for a snapshot's trees, and the refs `also`
   * names as they are (`refs/quire/index/...`: what a kept index refers to); call it inside `exclusive`,
   * with the objects just written.
   */
  async keep(store: string, name: string, trees: KeptTrees, also: Record<string, string> = {}): Promise<void> {
    const commands = [
      ...KEPT_KEYS.map((key) => `update ${KEPT}/${name}/${key} ${trees[key]}\n`),
      ...Object.entries(also).map(([ref, id]) => `update ${ref} ${id}\n`),
    ];
    await git(store, ["--git-dir=.", "update-ref", "--stdin"], { input: commands.join("") });
  }

  /** Lets go of what `kept` holds, and prunes the stores whose loose objects have grown large. */
  async forget(kept: readonly KeptRefs[]): Promise<void> {
    for (const store of new Set(kept.map((k) => k.store))) {
      if (!(await exists(store))) continue;
      // Deleting a ref that is not there does nothing, so the names need no listing first.
      const refs = kept.filter((k) => k.store === store).flatMap((k) => KEPT_KEYS.map((key) => `${KEPT}/${k.name}/${key}`));
      await this.exclusive(store, async () => {
        await git(store, ["--git-dir=.", "update-ref", "--stdin"], { input: refs.map((ref) => `delete ${ref}\n`).join("") });
        await this.#pruneIfLarge(store);
      });
    }
  }

  /**
   * Makes refs `refs/quire/runs/<runId>/<key>` for each object, apart from the workspaces' (a sweep never
   * drops them): they keep a run's trees until retention removes the run. Call it while something else
   * keeps the objects (the snapshot's own refs, say).
   */
  async keepForRun(store: string, runId: number, objects: Record<string, string>): Promise<void> {
    const commands = Object.entries(objects).map(([key, id]) => `update ${RUNS}/${runId}/${key} ${id}\n`);
    await this.exclusive(store, () => git(store, ["--git-dir=.", "update-ref", "--stdin"], { input: commands.join("") }));
  }

  /**
   * Lets go, in every store, of the trees of runs that are gone (retention removed them), pruning the
   * stores whose loose objects have grown large. `gone` is asked, once a store's refs are listed, which of
   * the runs they name are gone: a run recorded meanwhile is then known to it.
   */
  async forgetRuns(gone: (listed: number[]) => ReadonlySet<number>): Promise<void> {
    for (const name of await readdir(this.root).catch(() => [] as string[])) {
      if (!name.endsWith(".git")) continue;
      const store = join(this.root, name);
      await this.exclusive(store, async () => {
        const refs = (await git(store, ["--git-dir=.", "for-each-ref", "--format=%(refname)", `${RUNS}/`])).split("\n").filter(Boolean);
        const runOf = (ref: string) => Number(ref.slice(RUNS.length + 1).split("/")[0]);
        const ids = gone([...new Set(refs.map(runOf))]);
        const dropped = refs.filter((ref) => ids.has(runOf(ref)));
        if (dropped.length === 0) return;
        await git(store, ["--git-dir=.", "update-ref", "--stdin"], { input: dropped.map((ref) => `delete ${ref}\n`).join("") });
        await this.#pruneIfLarge(store);
      });
    }
  }

  /** Whether `store` (or the repository it reads as its alternate) has the object `id`. */
  async has(store: string, id: string): Promise<boolean> {
    return git(store, ["--git-dir=.", "cat-file", "-e", id]).then(
      () => true,
      () => false,
    );
  }

  /**
   * Deletes every kept name not in `live` (what a daemon that stopped between a snapshot and its
   * workspace's record left), then prunes; also removes stores a daemon stopped while making.
   */
  async sweep(live: ReadonlySet<string>): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw new WorkspaceError(`cannot list ${this.root}: ${(error as Error).message}`, { cause: error });
    }
    for (const name of names) {
      const path = join(this.root, name);
      if (name.startsWith(MAKING_PREFIX)) await rm(path, { recursive: true, force: true });
      else if (name.endsWith(".git")) await this.exclusive(path, () => this.#drop(path, (kept) => !live.has(kept)));
    }
  }

  // Deletes the kept refs whose name `pick` chooses, then prunes if the loose objects are worth it.
  async #drop(store: string, pick: (name: string) => boolean): Promise<void> {
    const refs = (await git(store, ["--git-dir=.", "for-each-ref", "--format=%(refname)", `${KEPT}/`])).split("\n").filter(Boolean);
    const dropped = refs.filter((ref) => pick(ref.slice(KEPT.length + 1).split("/")[0] ?? ""));
    if (dropped.length > 0)
      await git(store, ["--git-dir=.", "update-ref", "--stdin"], { input: dropped.map((ref) => `delete ${ref}\n`).join("") });
    await this.#pruneIfLarge(store);
  }

  async #pruneIfLarge(store: string): Promise<void> {
    const counts = await git(store, ["--git-dir=.", "count-objects", "-v"]);
    const loose = Number(/^size: (\d+)$/m.exec(counts)?.[1] ?? 0);
    if (loose >= this.#aboveKiB) await git(store, ["--git-dir=.", "prune", `--expire=${this.#expire}`]);
  }
}

/** A fresh name for one snapshot's kept refs. */
export function newKeptName(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString("hex")}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
