// GitHub Actions' filter patterns (on.push.branches, tags, paths, ...), as its "filter pattern cheat
// sheet" defines them: `*` any characters but `/`, `**` any characters, `?` zero or one and `+` one or
// more of the preceding character, `[...]` one character of a set or range, `\` escapes the next
// character, and a leading `!` makes a pattern exclude what it matches.

/** One pattern, compiled: `negated` for a leading `!`. */
export interface FilterPattern {
  readonly source: string;
  readonly negated: boolean;
  readonly regex: RegExp;
}

export function compilePattern(source: string): FilterPattern {
  const negated = source.startsWith("!");
  return { source, negated, regex: new RegExp(`^${translate(negated ? source.slice(1) : source)}$`, "u") };
}

/**
 * Whether `name` is selected by `patterns` read in order, as GitHub reads them: a matching pattern
 * selects it, a later matching `!pattern` drops it again, and a later positive match takes it back.
 */
export function selects(patterns: readonly FilterPattern[], name: string): boolean {
  let selected = false;
  for (const pattern of patterns) if (pattern.regex.test(name)) selected = !pattern.negated;
  return selected;
}

function translate(pattern: string): string {
  let out = "";
  // Whether the last thing written is one character or a set, which `?` and `+` may repeat.
  let atom = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "\\" && i + 1 < pattern.length) {
      out += literal(pattern[++i]!);
      atom = true;
    } else if (c === "*") {
      if (pattern[i + 1] === "*") {
        i++;
        // `**/` also matches no directory at all: `**/README.md` is the root's README.md too.
        if (pattern[i + 1] === "/") {
          i++;
          out += "(?:.*/)?";
        } else out += ".*";
      } else out += "[^/]*";
      atom = false;
    } else if ((c === "?" || c === "+") && atom) {
      out += c;
      atom = false;
    } else if (c === "[" && pattern.indexOf("]", i + 2) > 0) {
      const end = pattern.indexOf("]", i + 2);
      const body = pattern.slice(i + 1, end);
      // The set as written: characters and ranges (GitHub's sets have no negation, so `^` is itself).
      out += `[${body.replace(/[\\\]^[]/g, (ch) => `\\${ch}`)}]`;
      i = end;
      atom = true;
    } else {
      out += literal(c);
      atom = true;
    }
  }
  return out;
}

function literal(c: string): string {
  return /[\\^$.*+?()[\]{}|/]/.test(c) ? `\\${c}` : c;
}
