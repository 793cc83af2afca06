// The status file of a repository: the state of its newest run on each ref, kept by the ci backend under
// QUIRE_HOME/status/ so that a shell prompt can show it without starting any process (README.md, "In
// your daily flow"). A shell finds the file with string substitution alone: its name is the repository's
// path with `%` written `%25` and `/` written `%2F`; its lines are split by the shell's own `read`.
//
//   quire-status 1
//   main failed 12
//   feature/x active 14
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The first line, naming the format. */
export const STATUS_HEADER = "quire-status 1";

/** Refs listed at most, newest first: a prompt reads the whole file on every prompt. */
export const STATUS_REFS_MAX = 50;

/** A file name longer than this is refused by most filesystems: such a repository gets no status file. */
const NAME_MAX_BYTES = 255;

export type RefState = "pending" | "active" | "complete" | "failed" | "cancelled";

export interface RefStatus {
  ref: string;
  state: RefState;
  /** The run that says so: the failed one, else the newest. */
  run: number;
}

/** The status file's name for `repo` (an absolute path); undefined when it would be too long a name. */
export function statusFileName(repo: string): string | undefined {
  const name = repo.replaceAll("%", "%25").replaceAll("/", "%2F");
  return Buffer.byteLength(name) <= NAME_MAX_BYTES ? name : undefined;
}

/** A ref a prompt can match: a git branch or commit never holds whitespace or control characters. */
export function listableRef(ref: string): boolean {
  return ref !== "" && !/[\s\u0000-\u001f\u007f]/.test(ref);
}

export function statusText(refs: readonly RefStatus[]): string {
  return [STATUS_HEADER, ...refs.map((r) => `${r.ref} ${r.state} ${r.run}`)].join("\n") + "\n";
}

/** The refs of a status file's text; undefined for a text of another format. */
export function parseStatus(text: string): RefStatus[] | undefined {
  const [header, ...lines] = text.split("\n");
  if (header !== STATUS_HEADER) return undefined;
  return lines
    .filter((line) => line !== "")
    .map((line) => {
      const [ref, state, run] = line.split(" ");
      return { ref: ref!, state: state as RefState, run: Number(run) };
    });
}

/** Writes the status of `repo` into `dir`, whole: to a file aside, then renamed over the old one. */
export function writeStatusFile(dir: string, repo: string, refs: readonly RefStatus[]): void {
  const name = statusFileName(repo);
  if (name === undefined) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = join(dir, `.${process.pid}-${Math.random().toString(36).slice(2)}.tmp`);
  writeFileSync(temp, statusText(refs), { mode: 0o600 });
  renameSync(temp, join(dir, name));
}

export function readStatusFile(dir: string, repo: string): RefStatus[] | undefined {
  const name = statusFileName(repo);
  if (name === undefined) return undefined;
  try {
    return parseStatus(readFileSync(join(dir, name), "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** A run as the status needs it. */
export interface RunBrief {
  id: number;
  ref: string;
  state: string;
}

/**
 * Each ref's status from the newest run of each of its pipelines (newest first): running while any of
 * them is, else failed (or cancelled) when any is, else complete. Superseded runs are never the newest.
 */
export function refStatuses(newestPerPipeline: readonly RunBrief[]): RefStatus[] {
  const byRef = new Map<string, RunBrief[]>();
  for (const run of [...newestPerPipeline].sort((a, b) => b.id - a.id)) {
    if (!listableRef(run.ref)) continue;
    byRef.set(run.ref, [...(byRef.get(run.ref) ?? []), run]);
  }
  const out: RefStatus[] = [];
  for (const [ref, runs] of byRef) {
    const first = (state: string) => runs.find((r) => r.state === state);
    const decisive = first("active") ?? first("pending") ?? first("failed") ?? first("cancelled") ?? first("complete");
    if (decisive) out.push({ ref, state: decisive.state as RefState, run: decisive.id });
    if (out.length === STATUS_REFS_MAX) break;
  }
  return out;
}
