// What changed in a work tree since a given moment, from inotify (fs.watch on every directory; not the
// recursive fs.watch, which on Node 20's Linux stats and watches every file). A snapshot hands git the
// paths as its fsmonitor hook's answer (fsmonitor.ts), so `git add -A` looks at those and trusts the rest.
//
// What it relies on: the kernel queues an inotify event before the write that caused it returns, and
// libuv reads the whole queue whenever its poll phase runs, so after two turns of the event loop every
// change finished before `changesSince` was called has been recorded (`settle`). A directory is watched
// before it is listed, so what is made in it meanwhile is either listed or seen; a directory that appears
// (made, or moved in) is reported as a whole (`dir/`: git looks at everything under it), and one that
// goes, too; the root itself is held open, so a root removed or replaced (moved away and cloned again at
// the same path) breaks the watcher. A moment is a token `<watcher>:<sequence>`: a token of another
// watcher (this one restarted, or the daemon did) is answered with "everything", so changes made while
// nothing watched are never lost.
// Directories git ignores (ignored-dirs.ts) are left unwatched when the walk starts, except those holding
// a tracked file: what is in them is not in a snapshot. When the rules may have changed (a `.gitignore`
// anywhere, info/exclude, core.excludesFile) a directory that stops being ignored would be unwatched, so
// a watcher that left any out breaks: the next snapshot stats every file and the new watcher asks git again.
// Whatever goes wrong (no more inotify watches, too many directories, a watch that fails, a queue that
// may have overflowed: watch-bursts.ts, a directory or a changed path whose name is not UTF-8) breaks the
// watcher: it answers "everything" from then on and `TreeWatchers` makes a new one.
import { randomBytes } from "node:crypto";
import {
  closeSync,
  type FSWatcher,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  watch,
} from "node:fs";
import { join, relative, sep } from "node:path";
import { type BurstListener, kernelBurstLimit, watchBursts } from "../watch-bursts.js";
import { ignoredDirectories, type RuleSources, ruleSourcesChanged } from "./ignored-dirs.js";

/** What changed since a token: the paths relative to the root (with `/`; a directory as `dir/`), or null for "anything may have". */
export interface Changes {
  /** The token for now: what changes after this call are reported against. */
  now: string;
  paths: string[] | null;
}

export interface TreeWatcherOptions {
  /** Directories (absolute) left unwatched: what the snapshot leaves out anyway (quire's home). */
  skip?: readonly string[];
  /** At most this many directories are watched; a tree with more gets no watcher (default: defaultMaxDirectories()). */
  maxDirectories?: number;
  /** At most this many distinct changed paths are remembered; past it, the answer is "everything" (default 100,000). */
  maxPaths?: number;
  /** A turn of the event loop bringing this many events may have lost some (default: half the kernel's inotify queue). */
  overflowBurst?: number;
}

/** Trees watched at once (the least recently snapshotted goes). */
const DEFAULT_MAX_TREES = 4;

/**
 * inotify watches are the person's, shared with their editor, bundler and test runner (max_user_watches):
 * all of quire's trees together take at most a quarter of them, and never more than 20,000 per tree.
 */
function defaultMaxDirectories(): number {
  let userWatches = 65_536;
  try {
    userWatches = Number(readFileSync("/proc/sys/fs/inotify/max_user_watches", "utf8")) || userWatches;
  } catch {}
  return Math.min(20_000, Math.floor(userWatches / 4 / DEFAULT_MAX_TREES));
}
const DEFAULT_MAX_PATHS = 100_000;
const UNWATCHABLE_RETRY_MS = 10 * 60_000;

/** Watches one work tree (`root`, absolute, symlinks resolved), leaving out every `.git` directory. */
export class TreeWatcher implements BurstListener {
  readonly root: string;
  readonly #id = randomBytes(6).toString("hex");
  readonly #skip: Set<string>;
  // The directories left out because git ignores them, and the rule files outside the tree as they were then.
  readonly #ignored: Set<string>;
  readonly #ruleSources: RuleSources | undefined;
  readonly #maxDirectories: number;
  readonly #maxPaths: number;
  readonly burstLimit: number;
  /** The root directory itself, held open: a root removed or replaced (moved away, cloned again) is noticed by it. */
  #rootFd: number | undefined;
  readonly #watches = new Map<string, FSWatcher>();
  // Each changed path with the sequence number of its latest change.
  readonly #changed = new Map<string, number>();
  #sequence = 0;
  // Sequence numbers at or below this have been pruned: a token older than it is answered with "everything".
  #floor = 0;
  #broken = false;

  constructor(root: string, options: TreeWatcherOptions = {}) {
    this.root = root;
    this.#skip = new Set((options.skip ?? []).map(realPathOrSelf));
    this.#maxDirectories = options.maxDirectories ?? defaultMaxDirectories();
    this.#maxPaths = options.maxPaths ?? DEFAULT_MAX_PATHS;
    this.burstLimit = options.overflowBurst ?? kernelBurstLimit();
    const ignored = ignoredDirectories(root);
    this.#ignored = ignored?.skip ?? new Set();
    this.#ruleSources = ignored?.sources;
    watchBursts.listen(this);
    try {
      this.#rootFd = openSync(root, "r");
    } catch {
      this.#break();
    }
    this.#watchTree(root);
  }

  /** False once the watcher can no longer say what changed (it then answers "everything"). */
  get working(): boolean {
    return !this.#broken;
  }

  /** How many directories are watched (those git ignores are not). */
  get watchedDirectories(): number {
    return this.#watches.size;
  }

  /** What changed since `token` (undefined: since ever, i.e. everything), once every change made before this call is recorded. */
  async changesSince(token: string | undefined): Promise<Changes> {
    await settle();
    if (!this.#rootIsSame()) this.#break();
    if (this.#ignored.size > 0 && this.#ruleSources !== undefined && ruleSourcesChanged(this.#ruleSources)) this.#break();
    const now = `${this.#id}:${this.#sequence}`;
    const since = this.#sinceOf(token);
    if (this.#broken || since === undefined) return { now, paths: null };
    const paths = [];
    for (const [path, sequence] of this.#changed) {
      if (sequence > since) paths.push(path);
      // Only the newest token is ever asked about again (one index per work tree holds it), so what it
      // has seen is not needed any more.
      else this.#changed.delete(path);
    }
    this.#floor = Math.max(this.#floor, since);
    return { now, paths };
  }

  /** A burst of events in one turn: some may have been lost, so nothing this watcher says can be trusted. */
  onBurst(): void {
    this.#break();
  }

  close(): void {
    watchBursts.unlisten(this);
    if (this.#rootFd !== undefined) closeSync(this.#rootFd);
    this.#rootFd = undefined;
    for (const watch of this.#watches.values()) watch.close();
    this.#watches.clear();
    this.#changed.clear();
    this.#broken = true;
  }

  // Its watches are on the inodes the root had: a root deleted, or moved away and made again at the same
  // path, would be silent (nothing above it is watched). Inode numbers are reused at once, so the test is
  // that the inode held open is still linked and is still the one at the path.
  #rootIsSame(): boolean {
    if (this.#rootFd === undefined) return false;
    try {
      const held = fstatSync(this.#rootFd);
      const there = statSync(this.root);
      return held.nlink > 0 && held.ino === there.ino && held.dev === there.dev;
    } catch {
      return false;
    }
  }

  #sinceOf(token: string | undefined): number | undefined {
    if (token === undefined) return undefined;
    const [id, sequence] = token.split(":");
    const since = Number(sequence);
    if (id !== this.#id || !Number.isSafeInteger(since) || since < this.#floor || since > this.#sequence) return undefined;
    return since;
  }

  #record(path: string): void {
    if (this.#changed.size >= this.#maxPaths && !this.#changed.has(path)) return this.#break();
    this.#changed.set(path, ++this.#sequence);
  }

  #break(): void {
    if (this.#broken) return;
    this.close();
  }

  // Watches `dir` and every directory under it, each before it is listed.
  #watchTree(dir: string): void {
    const pending = [dir];
    for (let next = pending.pop(); next !== undefined && !this.#broken; next = pending.pop()) {
      if (this.#watches.has(next) || this.#skip.has(next) || this.#ignored.has(next)) continue;
      if (this.#watches.size >= this.#maxDirectories) return this.#break();
      try {
        const watcher = watch(next, { persistent: false }, (event, name) => this.#onEvent(next, event, name));
        watcher.on("error", () => this.#break());
        this.#watches.set(next, watcher);
        for (const entry of readdirSync(next, { withFileTypes: true })) {
          if (!entry.isDirectory() || entry.name === ".git") continue;
          if (!namesItself(entry.name)) return this.#break();
          pending.push(join(next, entry.name));
        }
      } catch (error) {
        // A directory gone meanwhile is reported by its parent; anything else (out of watches) breaks.
        if ((error as NodeJS.ErrnoException).code !== "ENOENT" && (error as NodeJS.ErrnoException).code !== "ENOTDIR") return this.#break();
      }
    }
  }

  #onEvent(dir: string, event: string, name: string | Buffer | null): void {
    watchBursts.count();
    if (this.#broken) return;
    if (name === null || !namesItself(name.toString())) return this.#break();
    const full = join(dir, name.toString());
    const path = relative(this.root, full).split(sep).join("/");
    if (path === "" || path.startsWith("..")) return; // the watched directory itself (deleted: its parent says so)
    this.#record(path);
    if (name.toString() === ".gitignore" && this.#ignored.size > 0) return this.#break();
    if (event !== "rename") return;
    // Made, moved or removed: the whole directory, if it is or was one, and the watches under it follow.
    let isDirectory = false;
    try {
      isDirectory = lstatSync(full).isDirectory();
    } catch {}
    this.#record(`${path}/`);
    this.#unwatchTree(full);
    if (isDirectory && name.toString() !== ".git") this.#watchTree(full);
  }

  #unwatchTree(dir: string): void {
    const prefix = `${dir}${sep}`;
    for (const [path, watcher] of this.#watches) {
      if (path === dir || path.startsWith(prefix)) {
        watcher.close();
        this.#watches.delete(path);
      }
    }
  }
}

/** The watchers of the work trees quire snapshots, one per root, at most `max` (the least recently used goes). */
export class TreeWatchers {
  readonly #watchers = new Map<string, TreeWatcher>();
  /**
   * Roots that could not be watched (too many directories, out of inotify watches), with when to try
   * again: walking a tree that big is a synchronous pause of the backend, not to be paid every snapshot.
   */
  readonly #unwatchable = new Map<string, number>();
  readonly #max: number;
  readonly #options: TreeWatcherOptions;

  constructor(options: TreeWatcherOptions & { max?: number } = {}) {
    this.#max = options.max ?? DEFAULT_MAX_TREES;
    this.#options = options;
  }

  /** Whether `dir` is a watched work tree's root or inside one. */
  watches(dir: string): boolean {
    for (const root of this.#watchers.keys()) if (dir === root || dir.startsWith(`${root}${sep}`)) return true;
    return false;
  }

  /** The watcher of `root`, started now if there is none or it broke; undefined when the tree cannot be watched. */
  of(root: string): TreeWatcher | undefined {
    let watcher = this.#watchers.get(root);
    this.#watchers.delete(root);
    if (watcher === undefined || !watcher.working) {
      watcher?.close();
      if ((this.#unwatchable.get(root) ?? 0) > Date.now()) return undefined;
      watcher = new TreeWatcher(root, this.#options);
      if (!watcher.working) {
        this.#unwatchable.set(root, Date.now() + UNWATCHABLE_RETRY_MS);
        return undefined;
      }
      this.#unwatchable.delete(root);
    }
    this.#watchers.set(root, watcher);
    for (const [old, oldest] of this.#watchers) {
      if (this.#watchers.size <= this.#max) break;
      oldest.close();
      this.#watchers.delete(old);
    }
    return watcher;
  }

  close(): void {
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
  }
}

// Whether a name as Node gives it (UTF-8) is the name on disk: one that is not UTF-8 has each bad byte
// made U+FFFD, and that other name can be neither watched nor handed to git (a real U+FFFD is taken for one).
function namesItself(name: string): boolean {
  return !name.includes("\uFFFD");
}

// Two turns of the event loop: the second begins after a poll phase that began after this call, in which
// libuv read every inotify event queued before it.
async function settle(): Promise<void> {
  for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function realPathOrSelf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
