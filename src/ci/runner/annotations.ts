// A step's call back to its own run (`quirectl annotate TEXT`): the step's token says which run, job and
// step (the caller names none of them), and the text is kept with them, secrets and the token redacted.
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

  /** Adds the annotation and returns its run's id; throws RunTokenError when `token` names no running step. */
  add(token: string, text: string): number {
    const from = this.#store.stepForToken(hashRunToken(token));
    if (from === undefined) throw new RunTokenError();
    this.#store.annotate(from.runId, from.job, from.step, redactString(text, [...this.#secretsOf(from.runId), token.trim()]), Date.now());
    return from.runId;
  }
}
