// The questions the broker asks a backend over its control channel and waits to have answered: handoff
// ACKs by correlation id, metrics and idle questions by sequence number. Each is settled once: by its
// answer, by its timeout, or when the backend exits.
import type { MetricFamily } from "../core/metrics.js";
import type { HandoffAck } from "../gen/quire/v1/handoff.js";
import { BackendTimeoutError } from "./errors.js";

export interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Answers of one kind being waited for, by key. */
export class AwaitedAnswers<K, T> {
  readonly #waiters = new Map<K, Waiter<T>>();
  readonly #service: string;
  /** Names the answer in the timeout's error: "the echo backend did not send its handoff ACK within 2000 ms". */
  readonly #what: string;

  constructor(service: string, what: string) {
    this.#service = service;
    this.#what = what;
  }

  /** How many are still waited for. */
  get size(): number {
    return this.#waiters.size;
  }

  /** Waits for `key`'s answer: `resolve` gets it, `reject` a timeout after `timeoutMs` (or whatever settles it first). */
  wait(key: K, resolve: (value: T) => void, reject: (error: Error) => void, timeoutMs: number): void {
    const ms = Math.max(0, timeoutMs);
    const timer = setTimeout(() => this.settle(key)?.reject(new BackendTimeoutError(this.#service, this.#what, ms)), ms);
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
  readonly acks: AwaitedAnswers<bigint, HandoffAck>;
  readonly metrics: AwaitedAnswers<number, MetricFamily[]>;
  readonly idleQuestions: AwaitedAnswers<number, IdleAnswer>;
  #seq = 0;

  constructor(service: string) {
    this.acks = new AwaitedAnswers(service, "handoff ACK");
    this.metrics = new AwaitedAnswers(service, "metrics");
    this.idleQuestions = new AwaitedAnswers(service, "answer to the idle question");
  }

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
