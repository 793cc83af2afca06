// Token buckets keyed by peer: each peer may say Hello `burst` times at once and `perSecond` after that.

export class HelloRateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perSecond: number, burst: number) {
    this.#perSecond = perSecond;
    this.#burst = burst;
  }

  /** 0 when the Hello may proceed, else how many milliseconds until one would. */
  take(peer: string, now = Date.now()): number {
    let bucket = this.#buckets.get(peer);
    if (!bucket) {
      if (this.#buckets.size >= 10_000) this.#forgetFull(now);
      bucket = { tokens: this.#burst, at: now };
      this.#buckets.set(peer, bucket);
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#perSecond);
    bucket.at = now;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - bucket.tokens) / this.#perSecond) * 1000);
  }

  /** Buckets that have refilled carry no state worth keeping. */
  #forgetFull(now: number): void {
    for (const [peer, b] of this.#buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.#perSecond >= this.#burst) this.#buckets.delete(peer);
    }
  }
}
