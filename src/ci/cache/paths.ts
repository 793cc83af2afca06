// The paths a dependency cache may hold: files and directories inside the run's workspace, named
// relative to the directory steps start in. actions/cache also takes `~/...`, absolute paths, globs and
// `!` exclusions; quire refuses them, since restoring one would write outside the run's workspace.
import { workspacePath } from "../pipeline/workspace-path.js";

export const CACHE_PATH_RULE =
  "a cache holds files and directories inside the run's workspace: relative paths without `~`, `..` above the root, wildcards or `!` exclusions, and not the whole workspace";

/** actions/cache's `path` input: one path a line, blank lines left out. */
export function cachePathLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** `text` normalised (`a/./b/` is `a/b`), or undefined when it is not a path a cache may hold (CACHE_PATH_RULE). */
export function cachePath(text: string): string | undefined {
  if (/^[~!]/.test(text) || /[*?[\]]/.test(text)) return undefined;
  const path = workspacePath(text);
  return path === "." ? undefined : path;
}
