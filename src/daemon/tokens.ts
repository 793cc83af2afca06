// One-time tokens: 16 random bytes, a TTL, consumed once, compared in constant time.
import { createHash } from "node:crypto";
import nacl from "tweetnacl";

export const TOKEN_BYTES = 16;
export const DEFAULT_TOKEN_TTL_MS = 30_000;

export function mintToken(): Buffer {
  const bytes = nacl.randomBytes(TOKEN_BYTES);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export type ConsumeResult =
  | { ok: true; id: number }
  | { ok: false; reason: "unknown" | "expired" | "wrong-service" };

interface Entry {
  token: Uint8Array;
  service: string;
  expiresAt: number;
  id: number;
}

/**
 * Tokens a backend will accept. Entries are found by a hash of the token (which reveals nothing about
 * it) and then compared in constant time, so lookup time says nothing about how close a guess was.
 * A used token is removed, so a second use reads as unknown.
 */
export class TokenStore {
  readonly #entries = new Map<string, Entry>();
  readonly #max: number;

  constructor(options: { max?: number } = {}) {
    this.#max = options.max ?? 4096;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** False when the store is full (after dropping expired entries). */
  add(token: Uint8Array, service: string, expiresAt: number, id: number): boolean {
    if (this.#entries.size >= this.#max) this.sweep();
    if (this.#entries.size >= this.#max) return false;
    this.#entries.set(key(token), { token: Uint8Array.from(token), service, expiresAt, id });
    return true;
  }

  consume(token: Uint8Array, service: string, now = Date.now()): ConsumeResult {
    if (token.length !== TOKEN_BYTES) return { ok: false, reason: "unknown" };
    const k = key(token);
    const entry = this.#entries.get(k);
    if (!entry || !nacl.verify(entry.token, token)) return { ok: false, reason: "unknown" };
    if (entry.expiresAt <= now) {
      this.#entries.delete(k);
      return { ok: false, reason: "expired" };
    }
    if (entry.service !== service) return { ok: false, reason: "wrong-service" };
    this.#entries.delete(k);
    return { ok: true, id: entry.id };
  }

  /** Drops expired entries. */
  sweep(now = Date.now()): void {
    for (const [k, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(k);
  }
}

function key(token: Uint8Array): string {
  return createHash("sha256").update(token).digest("base64");
}
