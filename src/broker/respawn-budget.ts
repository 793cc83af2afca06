// How often a crashing backend is respawned, and when a Hello refused meanwhile should come back: at most
// `budget` crashes within `windowMs` (3 in 30 s by default), each followed by a respawn after `delayMs`;
// one more and the service is failed until its oldest crash leaves the window.

export interface RespawnPolicy {
  /** At most this many crashes ... */
  budget: number;
  /** ... within this window before the service is marked failed. */
  windowMs: number;
  /** Pause between a crash and the respawn. */
  delayMs: number;
}

/** A respawned backend is usually ready this soon; it is added to retry_after_ms. */
export const TYPICAL_START_MS = 150;

export class RespawnBudget {
  readonly #policy: RespawnPolicy;
  /** When each crash within the window happened, oldest first. */
  #crashes: number[] = [];
  #respawnAt = 0;

  constructor(policy: RespawnPolicy) {
    this.#policy = policy;
  }

  /** Crashes counted in the window as of the last one. */
  get crashes(): number {
    return this.#crashes.length;
  }

  get windowMs(): number {
    return this.#policy.windowMs;
  }

  /**
   * Counts a crash at `now`. True when it is within the budget: a respawn is then due `delayMs` from now.
   * False when the budget is spent.
   */
  crashed(now: number): boolean {
    this.#crashes = this.#crashes.filter((t) => t > now - this.#policy.windowMs);
    this.#crashes.push(now);
    if (this.#crashes.length > this.#policy.budget) return false;
    this.respawnDue(now);
    return true;
  }

  /** A respawn is due `delayMs` from `now` (also when a kill has been decided and its exit not yet seen). */
  respawnDue(now: number): void {
    this.#respawnAt = now + this.#policy.delayMs;
  }

  /** While a respawn is due: how long until the respawned backend should be ready. */
  retryAfterRespawn(now: number): number {
    return this.#respawnAt - now + TYPICAL_START_MS;
  }

  /** Once the budget is spent: how long until the oldest crash leaves the window (0 or less: a launch may be tried now). */
  retryAfterSpent(now: number): number {
    return this.#crashes[0]! + this.#policy.windowMs - now;
  }
}
