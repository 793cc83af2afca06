// hashFiles(patterns...) as GitHub computes it: the SHA-256 of the SHA-256 of each matching file under the
// workspace, files in path order; "" when nothing matches. Patterns are globs (`*`, `**`, `?`), relative to
// the workspace; one starting with `!` excludes what it matches.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";

/** `**` any depth, `*` within one path segment, `?` one character; everything else literal. */
export function globToRegExp(glob: string): RegExp {
  let pattern = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      const slash = glob[i + 2] === "/";
      pattern += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") pattern += "[^/]*";
    else if (c === "?") pattern += "[^/]";
    else pattern += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${pattern}$`);
}

/** Every file under `root` (not inside .git), as paths relative to it with `/` separators, sorted. */
function filesUnder(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === ".git") continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) found.push(relative(root, path).split(sep).join("/"));
    }
  };
  walk(root);
  return found.sort();
}

export function hashFiles(root: string, patterns: readonly string[]): string {
  const include = patterns.filter((p) => !p.startsWith("!")).map((p) => globToRegExp(p.replace(/^\.\//, "")));
  const exclude = patterns.filter((p) => p.startsWith("!")).map((p) => globToRegExp(p.slice(1).replace(/^\.\//, "")));
  const matched = filesUnder(root).filter((path) => include.some((re) => re.test(path)) && !exclude.some((re) => re.test(path)));
  if (matched.length === 0) return "";
  const all = createHash("sha256");
  for (const path of matched)
    all.update(
      createHash("sha256")
        .update(readFileSync(join(root, path)))
        .digest(),
    );
  return all.digest("hex");
}
