// quire's git hooks in a repository's hooks directory, beside whatever is there already: the one git
// runs (core.hooksPath or .git/hooks; husky's .husky/_, lefthook's scripts in .git/hooks). A hook file
// already there is kept, renamed to NAME.quire-chained, and run first by quire's script, with the same
// arguments, input and $0 (husky's scripts find their work by their own name); a file git tracks is never
// touched. Uninstall puts every file back as it was, bytes and mode, and takes out what install added to
// .git/info/exclude (so files written into a hooks directory inside the work tree do not show in `git
// status`, or in quire's snapshots of the working copy). Everything install did is written in its
// scripts' header lines, so uninstall needs no other record.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { HookTrackedError, HookSetupError } from "./errors.js";
import { shellWord } from "./output.js";

export const HOOK_NAMES = ["post-commit", "pre-push"] as const;
export type HookName = (typeof HOOK_NAMES)[number];

const MARK = "# quire hook:";
const CHAINED_MARK = "# quire chained:";
const CREATED_DIR_MARK = "# quire created this directory";
const CHAINED_SUFFIX = ".quire-chained";
const EXCLUDE_START = "# quire hooks: `quirectl hook uninstall` removes these lines";
const EXCLUDE_END = "# end of quire hooks";

/** Where a repository's hooks live, and the paths install needs around them. */
export interface HookPlaces {
  /** The work tree's root. */
  root: string;
  /** The directory git runs hooks from (absolute). */
  hooksDir: string;
  /** The repository's common git directory (its info/exclude is shared by every worktree). */
  commonDir: string;
}

/** What the hook script runs: quirectl's command line, and where its background output goes. */
export interface HookCommand {
  /** node and quirectl.js (absolute), with --home when one was given. */
  quirectl: string[];
  log: string;
  /** The pipeline file the hook runs, relative to the root; undefined: quire.yml, else the workflows. */
  file?: string;
  /** pre-push: block the push until the runs end, refusing it when one fails. */
  wait: boolean;
}

export function hookPlaces(dir: string): HookPlaces {
  const [root, hooks, common] = gitLines(dir, ["rev-parse", "--show-toplevel", "--git-path", "hooks", "--git-common-dir"]);
  return { root: root!, hooksDir: resolve(dir, hooks!), commonDir: resolve(dir, common!) };
}

/** The hook scripts of quire installed now, by name. */
export function installedHooks(places: HookPlaces): HookName[] {
  return HOOK_NAMES.filter((name) => ownScript(join(places.hooksDir, name)) !== undefined);
}

/** Installs (or rewrites) quire's `name` hook; returns what it did, for a person. */
export function installHook(places: HookPlaces, name: HookName, command: HookCommand): string {
  const path = join(places.hooksDir, name);
  const chained = `${path}${CHAINED_SUFFIX}`;
  const mine = ownScript(path);
  let chainedNote: string | undefined;
  let createdDir = false;
  if (mine) {
    chainedNote = mine.chained;
    createdDir = mine.createdDir;
  } else {
    if (existsSync(path) || isSymlink(path)) {
      if (tracked(places.root, path)) throw new HookTrackedError(name, path, hookLine(name, command));
      if (existsSync(chained) || isSymlink(chained))
        throw new HookSetupError(
          `${chained} is in the way: quire keeps the hook that was there under that name; move it away, then install again`,
        );
      renameSync(path, chained);
      chainedNote = `${name}${CHAINED_SUFFIX}`;
    }
    if (!existsSync(places.hooksDir)) {
      mkdirSync(places.hooksDir, { recursive: true });
      createdDir = true;
    }
    excludeFromGit(places, name);
  }
  writeFileSync(path, script(name, command, chainedNote, createdDir), { mode: 0o755 });
  chmodSync(path, 0o755);
  return chainedNote
    ? `${name}: installed in ${places.hooksDir}, running the hook that was there (${chainedNote}) first`
    : `${name}: installed in ${places.hooksDir}`;
}

/** Removes quire's `name` hook and puts back what was there; undefined when quire's hook is not there. */
export function uninstallHook(places: HookPlaces, name: HookName): string | undefined {
  const path = join(places.hooksDir, name);
  const mine = ownScript(path);
  if (!mine) return undefined;
  rmSync(path);
  if (mine.chained) renameSync(join(places.hooksDir, mine.chained), path);
  includeInGit(places, name);
  if (mine.createdDir && readdirSync(places.hooksDir).length === 0) rmdirSync(places.hooksDir);
  return mine.chained ? `${name}: removed; the hook that was there is back` : `${name}: removed`;
}

/** The header of quire's script at `path`, or undefined when the file is not one of quire's. */
function ownScript(path: string): { chained: string | undefined; createdDir: boolean } | undefined {
  let text: string;
  try {
    if (isSymlink(path)) return undefined;
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n", 6);
  if (!lines[1]?.startsWith(MARK)) return undefined;
  const chained = lines
    .find((line) => line.startsWith(CHAINED_MARK))
    ?.slice(CHAINED_MARK.length)
    .trim();
  return { chained: chained || undefined, createdDir: lines.includes(CREATED_DIR_MARK) };
}

/** The line a person adds to a hook file git tracks, to run quire's hook from it. */
export function hookLine(name: HookName, command: HookCommand): string {
  const run = [...command.quirectl, "hook", "run", name].map(shellWord).join(" ");
  if (name === "pre-push" && command.wait) return `${run} --wait "$@"${command.file ? ` --file ${shellWord(command.file)}` : ""}`;
  return `nohup ${run}${name === "pre-push" ? ' "$@"' : ""}${command.file ? ` --file ${shellWord(command.file)}` : ""} </dev/null >>${shellWord(command.log)} 2>&1 &`;
}

/**
 * The script. It runs the chained hook first, as git would have run it; a pre-push refused by it stays
 * refused. Then quire's run goes to the background (git does not wait for it; its output goes to the
 * hooks log), except for a pre-push with --wait, which blocks until the runs end.
 */
function script(name: HookName, command: HookCommand, chained: string | undefined, createdDir: boolean): string {
  const q = (word: string) => shellWord(word);
  const quirectl = [...command.quirectl, "hook", "run", name].map(q).join(" ");
  const file = command.file ? ` --file ${q(command.file)}` : "";
  const lines = [
    "#!/bin/sh",
    `${MARK} ${name}. Written by \`quirectl hook install\`; \`quirectl hook uninstall\` puts back what was here.`,
    ...(chained ? [`${CHAINED_MARK} ${chained}`] : []),
    ...(createdDir ? [CREATED_DIR_MARK] : []),
    "",
  ];
  if (name === "pre-push") {
    // git writes the refs being pushed on stdin: read once (with the shell's own read), given to both.
    lines.push("refs=''", 'while IFS= read -r line; do refs="$refs$line', '"; done', "");
  }
  if (chained) {
    lines.push(
      `chained="\${0%/*}/${chained}"`,
      'if [ -x "$chained" ]; then',
      // A plain sh script is read in a subshell, so its $0 is the hook's own path, as when git ran it.
      '  first=""; IFS= read -r first < "$chained" || :',
      '  case "$first" in',
      `    '#!/bin/sh' | '#!/usr/bin/env sh') run_chained() { ( . "$chained" ); } ;;`,
      '    *) run_chained() { "$chained" "$@"; } ;;',
      "  esac",
      name === "pre-push" ? `  printf '%s' "$refs" | run_chained "$@" || exit $?` : '  run_chained "$@" </dev/null || status=$?',
      "fi",
      "",
    );
  }
  if (name === "pre-push" && command.wait) {
    lines.push(`exec ${quirectl} --wait "$1" "$2" --refs "$refs"${file}`);
  } else {
    const args = name === "pre-push" ? ' "$1" "$2" --refs "$refs"' : "";
    lines.push(`nohup ${quirectl}${args}${file} </dev/null >>${q(command.log)} 2>&1 &`);
    lines.push(name === "post-commit" && chained ? "exit ${status:-0}" : "exit 0");
  }
  return lines.join("\n") + "\n";
}

// info/exclude, so that files written into a hooks directory inside the work tree stay out of git's view.

function excludeFromGit(places: HookPlaces, name: HookName): void {
  const patterns = excludePatterns(places, name);
  if (patterns.length === 0) return;
  const file = join(places.commonDir, "info", "exclude");
  const had = existsSync(file);
  const text = had ? readFileSync(file, "utf8") : "";
  const block = blockOf(text);
  const existing = block ? block.lines : [];
  const wanted = [...existing, ...patterns.filter((p) => !existing.includes(p))];
  const start = block ? block.start : text.length;
  const end = block ? block.end : text.length;
  const created = block ? block.created : !had;
  const newline = block ? block.newline : text !== "" && !text.endsWith("\n");
  const header = `${EXCLUDE_START}${created ? " (it made this file)" : ""}${newline ? " (and the line break before them)" : ""}`;
  const body = `${newline ? "\n" : ""}${[header, ...wanted, EXCLUDE_END].join("\n")}\n`;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text.slice(0, start) + body + text.slice(end));
}

function includeInGit(places: HookPlaces, name: HookName): void {
  const file = join(places.commonDir, "info", "exclude");
  if (!existsSync(file)) return;
  const text = readFileSync(file, "utf8");
  const block = blockOf(text);
  if (!block) return;
  const gone = new Set(excludePatterns(places, name, true));
  const kept = block.lines.filter((line) => !gone.has(line));
  if (kept.length > 0) {
    const header = text
      .slice(block.start, block.end)
      .split("\n")
      .find((line) => line.startsWith(EXCLUDE_START))!;
    const body = `${block.newline ? "\n" : ""}${[header, ...kept, EXCLUDE_END].join("\n")}\n`;
    writeFileSync(file, text.slice(0, block.start) + body + text.slice(block.end));
    return;
  }
  const rest = text.slice(0, block.start) + text.slice(block.end);
  if (block.created && rest === "") rmSync(file);
  else writeFileSync(file, rest);
}

/** Where quire's lines are in info/exclude, and what they say. */
function blockOf(text: string): { start: number; end: number; lines: string[]; created: boolean; newline: boolean } | undefined {
  const at = text.indexOf(EXCLUDE_START);
  if (at < 0) return undefined;
  const close = text.indexOf(`${EXCLUDE_END}\n`, at);
  if (close < 0) return undefined;
  const header = text.slice(at, text.indexOf("\n", at));
  const newline = header.includes("(and the line break before them)");
  const lines = text
    .slice(text.indexOf("\n", at) + 1, close)
    .split("\n")
    .filter((line) => line !== "");
  return {
    start: newline ? at - 1 : at,
    end: close + EXCLUDE_END.length + 1,
    lines,
    created: header.includes("(it made this file)"),
    newline,
  };
}

/** The info/exclude patterns for `name`'s files when the hooks directory is inside the work tree, else none. */
function excludePatterns(places: HookPlaces, name: HookName, always = false): string[] {
  const rel = relative(places.root, places.hooksDir);
  if (rel === "" || rel.startsWith(`..${sep}`) || rel === ".." || isAbsolute(rel)) return [];
  const base = `/${rel.split(sep).join("/")}/${name}`;
  const patterns = [base, `${base}${CHAINED_SUFFIX}`].map(escapePattern);
  // Already ignored (husky's .husky/_ ignores itself): nothing to add.
  if (!always && ignored(places.root, join(places.hooksDir, name))) return [];
  return patterns;
}

function escapePattern(path: string): string {
  return path.replace(/[\\*?[\]!#]/g, (c) => `\\${c}`);
}

function ignored(root: string, path: string): boolean {
  try {
    execFileSync("git", ["check-ignore", "-q", "--no-index", "--", path], { cwd: root, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function tracked(root: string, path: string): boolean {
  const rel = relative(root, path);
  if (rel.startsWith("..") || isAbsolute(rel)) return false;
  try {
    execFileSync("git", ["ls-files", "--error-unmatch", "--", rel], { cwd: root, stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

function gitLines(dir: string, args: string[]): string[] {
  try {
    return execFileSync("git", args, { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
      .trim()
      .split("\n");
  } catch (error) {
    const said = String((error as { stderr?: unknown }).stderr ?? "").trim();
    throw new HookSetupError(
      `${dir} is not in a git work tree (${said || (error as Error).message}); run quirectl hook install inside the repository`,
      error,
    );
  }
}
