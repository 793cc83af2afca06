// A step's call back to its own run (`quirectl annotate TEXT`): the run token says which run, and the
// text is kept, secrets redacted, with the job and step that wrote it.
import { RunTokenError } from "../errors.js";
import { redactString } from "../output/redact.js";
import type { RunStore } from "../store/index.js";
import { hashRunToken } from "./run-token.js";

export class Annotations {
  readonly #store: RunStore;
  readonly #secretsOf: (runId: number) => readonly string[];

  /** `secretsOf` gives the secret values of a run executing here, to redact its annotations with. */
  constructor(store: RunStore, secretsOf: (runId: number) => readonly string[]) {
    this.#store = store;
    this.#secretsOf = secretsOf;
  }

  /** Adds the annotation and returns its run's id; throws RunTokenError when `token` names no live run. */
  add(token: string, text: string, job: string, step: string): number {
    const runId = this.#store.runForToken(hashRunToken(token));
    if (runId === undefined) throw new RunTokenError();
    // Where it came from is the step's own say (QUIRE_JOB, QUIRE_STEP): a label, not a proof.
    this.#store.annotate(runId, job || null, job ? step || null : null, redactString(text, this.#secretsOf(runId)), Date.now());
    return runId;
  }
}
