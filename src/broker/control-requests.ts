// The questions the broker asks a backend over its control channel and waits to have answered: handoff
// ACKs by correlation id, metrics and idle questions by sequence number. Each is settled once: by its
// answer, by its timeout, or when the backend exits.
import type { MetricFamily } from "../core/metrics.js";
import type { HandoffAck } from "../gen/quire/v1/handoff.js";

export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Answers of one kind being waited for, by key. */
export class AwaitedAnswers<K, T> {
  readonly #waiters = new Map<K, Waiter<T>>();
  /** Names the question in the timeout's error: "handoff ACK timed out". */
  readonly #what: string;

  constructor(what: string) {
    this.#what = what;
  }

  /** How many are still waited for. */
  get size(): number {
    return this.#waiters.size;
  }

  /** Waits for `key`'s answer: `resolve` gets it, `reject` a timeout after `timeoutMs` (or whatever settles it first). */
  wait(key: K, resolve: (value: T) => void, reject: (error: Error) => void, timeoutMs: number): void {
    const timer = setTimeout(() => this.settle(key)?.reject(new Error(`${this.#what} timed out`)), Math.max(0, timeoutMs));
    this.#waiters.set(key, { resolve, reject, timer });
  }

  /** Takes `key`'s waiter out, its timeout cleared; undefined when it was settled already (or never waited for). */
  settle(key: K): Waiter<T> | undefined {
    const waiter = this.#waiters.get(key);
    if (!waiter) return undefined;
    this.#waiters.delete(key);
    clearTimeout(waiter.timer);
    return waiter;
  }

  /** Rejects every waiter, each with an error of its own. */
  rejectAll(error: () => Error): void {
    for (const key of [...this.#waiters.keys()]) this.settle(key)?.reject(error());
  }
}

export interface IdleAnswer {
  idle: boolean;
  why: string;
}

/** Everything one backend process has been asked and not yet answered. */
export class ControlRequests {
  readonly acks = new AwaitedAnswers<bigint, HandoffAck>("handoff ACK");
  readonly metrics = new AwaitedAnswers<number, MetricFamily[]>("metrics");
  readonly idleQuestions = new AwaitedAnswers<number, IdleAnswer>("idle question");
  #seq = 0;

  /** The sequence number of the next metrics or idle question. */
  nextSeq(): number {
    return ++this.#seq;
  }

  /** The backend has gone: nothing it was asked will be answered. */
  rejectAll(error: () => Error): void {
    this.acks.rejectAll(error);
    this.metrics.rejectAll(error);
    this.idleQuestions.rejectAll(error);
  }
}
