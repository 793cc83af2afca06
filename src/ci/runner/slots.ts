// A counting semaphore: at most `limit` jobs run at once, the rest wait in arrival order.

export class Slots {
  readonly #limit: number;
  #used = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, Math.floor(limit));
  }

  get inUse(): number {
    return this.#used;
  }

  /** Resolves with a release function once a slot is free; call it exactly once. */
  async acquire(): Promise<() => void> {
    if (this.#used < this.#limit) this.#used++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      // The slot passes straight to the next waiter, so the count only drops when nobody waits.
      if (next) next();
      else this.#used--;
    };
  }
}
