// The tokens the broker minted and has not yet seen used: handshakes in flight, counted in all and per
// peer, so that the broker can bound both and one peer filling its share leaves the others served.

interface Entry {
  peer: string;
  expiresAt: number;
}

export class PendingTokens {
  /** By token id, in minting order, which is also expiry order (the TTL is the same for all). */
  readonly #byId = new Map<number, Entry>();
  readonly #perPeer = new Map<string, number>();

  add(id: number, peer: string, expiresAt: number): void {
    this.#byId.set(id, { peer, expiresAt });
    this.#perPeer.set(peer, (this.#perPeer.get(peer) ?? 0) + 1);
  }

  /** The token was used (or will never be): it no longer counts. Unknown ids are ignored. */
  delete(id: number): void {
    const entry = this.#byId.get(id);
    if (!entry) return;
    this.#byId.delete(id);
    const left = this.#perPeer.get(entry.peer)! - 1;
    if (left > 0) this.#perPeer.set(entry.peer, left);
    else this.#perPeer.delete(entry.peer);
  }

  /** Tokens in flight that have not expired. */
  size(now = Date.now()): number {
    this.#sweep(now);
    return this.#byId.size;
  }

  /** Tokens in flight for `peer` that have not expired. */
  countFor(peer: string, now = Date.now()): number {
    this.#sweep(now);
    return this.#perPeer.get(peer) ?? 0;
  }

  #sweep(now: number): void {
    for (const [id, entry] of this.#byId) {
      if (entry.expiresAt > now) return;
      this.delete(id);
    }
  }
}
