// GitHub's `concurrency:`. A workflow's group is evaluated as its run is recorded, and the store applies
// the group's rules (createRun). A job's group is between jobs of different runs in this backend: JobGroups
// keeps, per group, one job in progress and at most one waiting its turn, as GitHub does: a newer job
// replaces the waiting one (which ends cancelled) and, with cancel-in-progress, cancels the one in progress.
import { ConcurrencyGroupError } from "../errors.js";
import { evaluateTemplate, evaluateValue, type Scope } from "../expressions/template.js";
import type { Concurrency, Pipeline } from "../pipeline/model.js";
import { workflowInputs } from "../workflow/job-legs.js";
import { githubContext, type WorkflowRun } from "./workflow-job.js";

export interface EvaluatedConcurrency {
  group: string;
  cancelInProgress: boolean;
}

/** A `concurrency:` evaluated in `scope`; null when its group is empty (no group, as on GitHub). */
export function evaluateConcurrency(concurrency: Concurrency, scope: Scope): EvaluatedConcurrency | null {
  const group = evaluateTemplate(concurrency.group, scope);
  const cancel = concurrency.cancelInProgress;
  const cancelInProgress = typeof cancel === "boolean" ? cancel : String(evaluateValue(cancel, scope)) === "true";
  return group === "" ? null : { group, cancelInProgress };
}

/**
 * A workflow's concurrency for its run about to be recorded (`run.runId` its id), with the `github`,
 * `inputs` and `vars` contexts GitHub gives it; null without one. Throws ConcurrencyGroupError when its
 * expressions fail.
 */
export function runConcurrency(pipeline: Pipeline, run: Omit<WorkflowRun, "tempRoot">): EvaluatedConcurrency | null {
  if (pipeline.kind !== "github" || !pipeline.concurrency) return null;
  try {
    return evaluateConcurrency(pipeline.concurrency, {
      contexts: { github: githubContext(run, null), inputs: workflowInputs(pipeline.on), vars: {} },
    });
  } catch (error) {
    throw new ConcurrencyGroupError((error as Error).message);
  }
}

/** A job's place in a group: `turn` resolves true once it may run, false if a newer job replaced it first. */
export interface GroupPlace {
  readonly turn: Promise<boolean>;
  /** The job is done (or gone): the group goes on with the job waiting. Harmless when called twice. */
  leave(): void;
}

interface Member {
  admit(go: boolean): void;
  /** Told when a newer job with cancel-in-progress comes: the job ends itself, and then leaves. */
  cancel(): void;
}

export class JobGroups {
  readonly #groups = new Map<string, { running?: Member; waiting?: Member }>();

  /** Joins `group`; `cancel` is called if a newer job with cancel-in-progress wants the group while this one runs. */
  join(group: string, cancelInProgress: boolean, cancel: () => void): GroupPlace {
    let slot = this.#groups.get(group);
    if (!slot) this.#groups.set(group, (slot = {}));
    let admit!: (go: boolean) => void;
    const turn = new Promise<boolean>((resolve) => (admit = resolve));
    const member: Member = { admit, cancel };
    slot.waiting?.admit(false);
    slot.waiting = undefined;
    if (!slot.running) {
      slot.running = member;
      admit(true);
    } else {
      slot.waiting = member;
      if (cancelInProgress) slot.running.cancel();
    }
    return { turn, leave: () => this.#leave(group, member) };
  }

  #leave(group: string, member: Member): void {
    const slot = this.#groups.get(group);
    if (!slot) return;
    if (slot.waiting === member) {
      slot.waiting = undefined;
      member.admit(false);
    } else if (slot.running === member) {
      slot.running = slot.waiting;
      slot.waiting = undefined;
      slot.running?.admit(true);
    }
    if (!slot.running && !slot.waiting) this.#groups.delete(group);
  }
}
