// How an execution's run ends once every job has: complete, or failed with its first failure as the
// run's failure_kind and failure_summary (secrets redacted from the step's last lines).
import { redactString } from "../output/redact.js";
import { renderTail } from "../output/screen.js";
import { failureSummary } from "../output/summary.js";
import type { RunEnd } from "../store/index.js";
import type { StepOutcome } from "./step-outcome.js";

/** The step that failed its job, and how. */
export interface StepFailure {
  job: string;
  step: string;
  outcome: StepOutcome;
  /** The limit of whichever timeout ended it (outcome.timedOut says whose); null: none, or none ended it. */
  timeoutMs: number | null;
}

export async function runEnd(failure: StepFailure | undefined, secrets: readonly string[]): Promise<RunEnd> {
  if (!failure) return { state: "complete" };
  const { outcome } = failure;
  const why = outcome.internalError ?? outcome.startError;
  const lines = why ? [why] : await renderTail(outcome.tail);
  const summary = failureSummary({
    job: failure.job,
    step: failure.step,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    timedOut: outcome.timedOut !== false,
    ...(outcome.timedOut && failure.timeoutMs !== null ? { timeout: { ms: failure.timeoutMs, of: outcome.timedOut } } : {}),
    tail: lines.map((line) => redactString(line, secrets)),
  });
  const kind = outcome.internalError ? "internal" : outcome.timedOut ? "timeout" : "pipeline-failure";
  return { state: "failed", kind, summary };
}
