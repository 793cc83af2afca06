// The files of a work tree, watched for `quirectl run --watch`: changes are gathered until the tree has
// been quiet for the debounce (a burst of saves is one change, an editor's write-aside-then-rename is
// one), and what git ignores, .git/ and quire's own home are left out, so neither a build's outputs nor
// git's bookkeeping start runs. (A run's steps write in their workspace, a separate checkout, never here.)
//
// chokidar, because it is JavaScript throughout: no native binary to build or to be missing for a
// platform (@parcel/watcher's), one small dependency, an `ignored` callback that keeps ignored
// directories from being watched at all, and `atomic` saves (unlink then add within 100 ms) reported as
// one change of the file.
import { execFileSync } from "node:child_process";
import { isAbsolute, relative, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";

export interface TreeWatcher {
  close(): Promise<void>;
}

export interface WatchOptions {
  debounceMs: number;
  /** Absolute directories never watched (quire's home when it lies inside the tree). */
  skip: readonly string[];
  /** Called with the changed paths (relative, `/`-separated, sorted) once the tree is quiet. */
  onChange(paths: string[]): void;
}

/** Watches `root` (a git work tree or a plain directory); resolves once the watch is in place. */
export async function watchTree(root: string, options: WatchOptions): Promise<TreeWatcher> {
  const isGit = gitOk(root, ["rev-parse", "--is-inside-work-tree"]);
  // Ignored directories (node_modules/, dist/, ...) as git lists them now: never descended into.
  const ignoredDirs = isGit
    ? nulList(git(root, ["ls-files", "-z", "-o", "-i", "--exclude-standard", "--directory"])).filter((p) => p.endsWith("/"))
    : [];
  const skipped = (path: string): boolean => {
    const rel = relative(root, path).split(sep).join("/");
    if (rel === "") return false;
    if (rel.startsWith("../") || isAbsolute(rel)) return true;
    if (rel === ".git" || rel.startsWith(".git/") || /(^|\/)\.git(\/|$)/.test(rel)) return true;
    if (options.skip.some((dir) => path === dir || path.startsWith(dir + sep))) return true;
    return ignoredDirs.some((dir) => rel === dir.slice(0, -1) || rel.startsWith(dir));
  };
  const watcher: FSWatcher = watch(root, { ignoreInitial: true, ignored: skipped, atomic: true, persistent: true });
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const paths = [...pending].sort();
    pending.clear();
    // Files created since the start that git ignores (a.log beside *.log in .gitignore).
    const kept = isGit && paths.length > 0 ? notIgnored(root, paths) : paths;
    if (kept.length > 0) options.onChange(kept);
  };
  watcher.on("all", (_event, path) => {
    pending.add(relative(root, path).split(sep).join("/"));
    if (timer) clearTimeout(timer);
    timer = setTimeout(flush, options.debounceMs);
  });
  await new Promise<void>((resolve, reject) => {
    watcher.once("ready", resolve);
    watcher.once("error", reject);
  });
  return {
    async close() {
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}

/** `paths` less those git ignores (tracked files are never ignored). */
function notIgnored(root: string, paths: string[]): string[] {
  let out: string;
  try {
    out = execFileSync("git", ["check-ignore", "-z", "--stdin"], {
      cwd: root,
      input: paths.join("\0"),
      encoding: "utf8",
      stdio: ["pipe", "pipe", "ignore"],
    });
  } catch {
    // Exit 1: none of them is ignored (and should git fail otherwise, a run too many beats a change missed).
    return paths;
  }
  const ignored = new Set(nulList(out));
  return paths.filter((path) => !ignored.has(path));
}

function git(cwd: string, args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], maxBuffer: 64 * 1024 * 1024 });
}

function gitOk(cwd: string, args: string[]): boolean {
  try {
    return git(cwd, args).trim() === "true";
  } catch {
    return false;
  }
}

function nulList(text: string): string[] {
  return text.split("\0").filter((s) => s !== "");
}
