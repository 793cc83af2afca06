// The failure_summary of a failed run: which job and step, how it ended, and its last lines, in 600 characters.
import { SUMMARY_MAX } from "../rules.js";

/** Job and step names are shortened to this in the header, so the header always fits with room for output. */
const NAME_MAX = 80;

export interface FailedStep {
  job: string;
  step: string;
  exitCode: number | null;
  /** The signal's name, e.g. "SIGKILL". */
  signal: string | null;
  /** As in the runtime's RunResult: "wall" for the step's or job's timeout, "idle" for silence. */
  timedOut: boolean | "wall" | "idle";
  /** The limit that timed it out, and whose it was; absent: not known. */
  timeout?: { ms: number; of: "step" | "job" };
  /** The step's last lines, e.g. from renderTail(); escape sequences and control characters are removed here. */
  tail: readonly string[];
}

/**
 * `job test, step "npm test" exited 1:` and then as many of the last lines as fit in SUMMARY_MAX
 * characters: lines are dropped from the top, and a single last line too long to fit keeps its end,
 * marked with "…". The header is never cut.
 */
export function failureSummary(failed: FailedStep): string {
  const header = `job ${shorten(failed.job)}, step "${shorten(failed.step)}" ${ending(failed)}`;
  const lines = failed.tail.map((line) => clean(line).trimEnd());
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  while (lines.length > 0 && lines[0] === "") lines.shift();
  if (lines.length === 0) return `${header} (no output)`;

  let room = SUMMARY_MAX - header.length - 1; // the colon
  const kept: string[] = [];
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const cost = line.length + 1; // and its newline
    if (cost <= room) {
      kept.unshift(line);
      room -= cost;
    } else {
      if (kept.length === 0 && room > 2) kept.unshift("…" + tailChars(line, room - 2));
      break;
    }
  }
  return `${header}:\n${kept.join("\n")}`;
}

/** Removes ANSI escape sequences (CSI, OSC, DCS and the other string controls, two-byte escapes). */
export function stripAnsi(text: string): string {
  return text.replace(ANSI, "");
}

const ANSI = new RegExp(
  [
    "(?:\\x1b\\[|\\x9b)[0-?]*[ -/]*[@-~]", // CSI: colours, cursor movement, erasing
    "(?:\\x1b\\]|\\x9d)[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c)?", // OSC: titles, hyperlinks
    "(?:\\x1b[PX^_]|[\\x90\\x98\\x9e\\x9f])[^\\x1b\\x9c]*(?:\\x1b\\\\|\\x9c)?", // DCS, SOS, PM, APC
    "\\x1b[ -/]*[0-~]", // two-byte escapes (charset selection, keypad modes, ...)
  ].join("|"),
  "g",
);

/**
 * How the summary's header says step `step` of job `job` ended ("exited 1", "timed out after 5m"), or
 * undefined when `summary` is not about that step: for quirectl, which shows it on the step's own line.
 */
export function summaryEnding(summary: string, job: string, step: string): string | undefined {
  const start = `job ${shorten(job)}, step "${shorten(step)}" `;
  if (!summary.startsWith(start)) return undefined;
  const header = summary.slice(start.length).split("\n", 1)[0]!;
  return header.replace(/(?::| \(no output\))$/, "");
}

function ending(failed: FailedStep): string {
  if (failed.timedOut === "idle") return "timed out waiting for output";
  if (failed.timedOut && failed.timeout)
    return `timed out after ${limitText(failed.timeout.ms)}${failed.timeout.of === "job" ? " (the job's timeout)" : ""}`;
  if (failed.timedOut) return "timed out";
  if (failed.signal) return `was killed by ${failed.signal}`;
  if (failed.exitCode !== null) return `exited ${failed.exitCode}`;
  return "failed";
}

/** A limit as a pipeline file writes it: `500ms`, `90s` as `1m30s`, `5m`, `1h30m`. */
function limitText(ms: number): string {
  if (ms % 1_000 !== 0) return `${ms}ms`;
  const seconds = ms / 1_000;
  const parts: [number, string][] = [
    [Math.floor(seconds / 3_600), "h"],
    [Math.floor((seconds % 3_600) / 60), "m"],
    [seconds % 60, "s"],
  ];
  return (
    parts
      .filter(([n]) => n > 0)
      .map(([n, unit]) => `${n}${unit}`)
      .join("") || "0s"
  );
}

/** Escapes gone, other control characters (a stray "\r", "\b", bell) dropped, tabs kept as spaces. */
function clean(text: string): string {
  return stripAnsi(text)
    .replaceAll("\t", " ")
    .replace(/[\x00-\x1f\x7f-\x9f]/g, "");
}

function shorten(name: string): string {
  const oneLine = clean(name.replace(/\s+/g, " "));
  if (oneLine.length <= NAME_MAX) return oneLine;
  return oneLine.slice(0, NAME_MAX - 1).replace(/[\ud800-\udbff]$/, "") + "…";
}

/** The last `count` UTF-16 units of `text`, not starting in the middle of a surrogate pair. */
function tailChars(text: string, count: number): string {
  let part = text.slice(text.length - count);
  if (/^[\udc00-\udfff]/.test(part)) part = part.slice(1);
  return part;
}
