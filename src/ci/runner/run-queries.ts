// What the service asks about runs, answered from the store: a run whole, the newest runs, and whether a
// run, a job or a step is still live (what watchers and log followers wait on).
import { RunNotFoundError } from "../errors.js";
import type { RunState, RunStore, RunView, StepView } from "../store/index.js";

const TERMINAL: ReadonlySet<RunState> = new Set(["complete", "failed", "cancelled", "superseded"]);

/** Whether a run in `state` has ended. */
export function hasEnded(state: RunState): boolean {
  return TERMINAL.has(state);
}

export class RunQueries {
  readonly #store: RunStore;

  constructor(store: RunStore) {
    this.#store = store;
  }

  /** Throws RunNotFoundError for an unknown id. */
  get(id: number): RunView {
    const run = this.#store.getRun(id);
    if (!run) throw new RunNotFoundError(id);
    return run;
  }

  list(limit = 50): RunView[] {
    return this.#store.listRuns(limit);
  }

  /** Throws RunNotFoundError for an unknown id. */
  isLive(id: number): boolean {
    const state = this.#store.runState(id);
    if (state === undefined) throw new RunNotFoundError(id);
    return !hasEnded(state);
  }

  /** A job's `n`th step, counting every attempt's steps in order (as RunView lists them). */
  stepAt(id: number, job: string, n: number): StepView | undefined {
    return this.#store.stepOfJob(id, job, n);
  }

  /**
   * Whether a job is still to run or running: until it ends it may add steps (a retry records the next
   * attempt's only once the failed attempt's leftovers are gone); false when there is no such job.
   */
  isJobLive(id: number, job: string): boolean {
    const state = this.#store.jobState(id, job);
    return state === "pending" || state === "active";
  }

  /** Whether a step (of this attempt) is still to run or running; false when there is no such step. */
  isStepLive(id: number, job: string, attempt: number, index: number): boolean {
    const state = this.#store.stepState(id, job, attempt, index);
    return state === "pending" || state === "active";
  }
}
