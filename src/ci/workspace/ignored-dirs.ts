// Which directories of a work tree git ignores, asked of git itself (its .gitignore files,
// .git/info/exclude, core.excludesFile), so the tree watcher can leave them unwatched: an npm project's
// node_modules, a Rust target/, a Python .venv would otherwise take the whole inotify budget. A directory
// that holds a tracked file (`git add -f`) is kept, with the directories above it: a change to that file
// must be seen. Two git processes per walk, whatever the tree's size.
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

export interface IgnoredDirectories {
  /** Directories (absolute) git ignores and that hold no tracked file: not to be watched. */
  skip: Set<string>;
  /** The files that hold ignore rules outside the tree (info/exclude, core.excludesFile, the config naming it), as they were. */
  sources: RuleSources;
}

/** Each rule file outside the work tree with its stat stamp ("" when absent) at the time the set was taken. */
export type RuleSources = Map<string, string>;

/** The ignored directories of `root`, or undefined when git cannot say (not a work tree): then everything is watched. */
export function ignoredDirectories(root: string): IgnoredDirectories | undefined {
  const ignored = gitPaths(root, ["ls-files", "-z", "--others", "--ignored", "--directory", "--exclude-standard"]);
  const trackedIgnored = gitPaths(root, ["ls-files", "-z", "--cached", "--ignored", "--exclude-standard"]);
  const paths = gitPaths(root, ["rev-parse", "--git-path", "info/exclude", "--git-path", "config"], "\n");
  const excludesFile = gitPaths(root, ["config", "--path", "core.excludesFile"], "\n") ?? [];
  if (ignored === undefined || trackedIgnored === undefined || paths === undefined) return undefined;
  const keep = new Set<string>();
  for (const file of trackedIgnored) {
    for (let slash = file.indexOf("/"); slash !== -1; slash = file.indexOf("/", slash + 1)) keep.add(file.slice(0, slash));
  }
  const skip = new Set<string>();
  for (const path of ignored) {
    if (!path.endsWith("/")) continue;
    const dir = path.slice(0, -1);
    if (!keep.has(dir)) skip.add(join(root, dir));
  }
  const xdg = process.env.XDG_CONFIG_HOME || join(homedir(), ".config");
  const ruleFiles = [...paths.map((path) => join(root, path)), excludesFile[0] ?? join(xdg, "git", "ignore")];
  return { skip, sources: stampsOf(ruleFiles) };
}

/** True when a rule file outside the tree changed since `sources` was taken. */
export function ruleSourcesChanged(sources: RuleSources): boolean {
  for (const [file, stamp] of sources) if (stampOf(file) !== stamp) return true;
  return false;
}

function stampsOf(files: readonly string[]): RuleSources {
  return new Map(files.map((file) => [file, stampOf(file)]));
}

function stampOf(file: string): string {
  try {
    const stat = statSync(file, { bigint: true });
    return `${stat.ino}:${stat.size}:${stat.mtimeNs}:${stat.ctimeNs}`;
  } catch {
    return "";
  }
}

function gitPaths(root: string, args: string[], separator = "\0"): string[] | undefined {
  const result = spawnSync("git", ["-c", "core.quotePath=false", ...args], { cwd: root, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) return undefined;
  return result.stdout.split(separator).filter((path) => path !== "");
}
