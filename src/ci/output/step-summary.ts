// A workflow step's summary (what it wrote to GITHUB_STEP_SUMMARY), kept beside its log for `runs show`.
import { writeFileSync } from "node:fs";
import { redactString } from "./redact.js";

/** At most this much of a summary is kept (GitHub's own limit is 1 MiB). */
const STEP_SUMMARY_KEPT = 1024 * 1024;
/** At most this much is shown by `runs show`. */
export const STEP_SUMMARY_SHOWN = 64 * 1024;

/** Where a step's summary is kept: beside its log. */
export function stepSummaryPath(logFile: string): string {
  return `${logFile}.summary.md`;
}

/** Keeps a step's summary, redacted like its log; nothing for an empty one. */
export function keepStepSummary(logFile: string, text: string, secrets: readonly string[]): void {
  if (text.trim() === "") return;
  writeFileSync(stepSummaryPath(logFile), redactString(text.slice(0, STEP_SUMMARY_KEPT), secrets), { mode: 0o600 });
}
