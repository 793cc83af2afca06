// How a step ended, as the run's record and its failure summary read it: the launcher's view of the
// process, and whether the job's time limit ended it.
import type { StepExit } from "./step-launcher.js";

export interface StepOutcome extends Omit<StepExit, "timedOut"> {
  /** "step": the step's own timeout; "job": the job's. */
  timedOut: false | "step" | "job";
}

/** A step that ended by itself (or by its own timeout). */
export function ownOutcome(exit: StepExit): StepOutcome {
  return { ...exit, timedOut: exit.timedOut ? "step" : false };
}

/**
 * A step the job's timeout ended, whatever else ended it too; without `exit`, the step it kept from
 * starting (the time ran out between two steps).
 */
export function jobTimeoutOutcome(exit?: StepExit): StepOutcome {
  if (exit) return { ...exit, timedOut: "job" };
  return { exitCode: null, signal: null, timedOut: "job", tail: Buffer.alloc(0), startError: null, internalError: null };
}

/** A step passes on exit code 0 alone: a timeout or quire's own failure fails it whatever its code. */
export function passed(outcome: StepOutcome): boolean {
  return outcome.exitCode === 0 && outcome.timedOut === false && outcome.internalError === null;
}
