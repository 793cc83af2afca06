// Paths a pipeline names inside the workspace (a working-directory, what a cache or a job's result holds).

/**
 * `text` as a normalised path relative to the workspace root (`a/./b/` is `a/b`, `a/..` is `.`), or
 * undefined when it is empty, absolute, uses `\` or a NUL, or climbs above the root.
 */
export function workspacePath(text: string): string | undefined {
  if (text === "" || text.startsWith("/") || /^[A-Za-z]:/.test(text) || /[\\\0]/.test(text)) return undefined;
  const parts: string[] = [];
  for (const part of text.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") parts.push(part);
    else if (parts.pop() === undefined) return undefined;
  }
  return parts.length === 0 ? "." : parts.join("/");
}
