// One-time tokens a backend checks by itself: the broker seals a random nonce, the service, the expiry
// and its own id for the token under a key it shares with that backend (one key per backend launch);
// the backend checks the MAC in constant time and keeps the nonces it has seen used until they expire,
// so no round trip is needed before the broker answers (ARCHITECTURE.md, "A Hello, from the socket to
// the backend").
import { hash, randomBytes, timingSafeEqual } from "node:crypto";

export const TOKEN_KEY_BYTES = 32;
export const DEFAULT_TOKEN_TTL_MS = 30_000;

const FORMAT = 1;
const NONCE_BYTES = 16;
/** HMAC-SHA256 (RFC 2104) truncated to 128 bits: a forger's chance per try is 2^-128. */
const MAC_BYTES = 16;
/** [u8 format][16 nonce][u48 expiry, ms since the epoch][u48 id][u8 service length] */
const HEADER_BYTES = 1 + NONCE_BYTES + 6 + 6 + 1;
const MAX_SERVICE_BYTES = 64;
const SHA256_BLOCK = 64;

/** A token for `service` is this long: 50 bytes for "echo", at most 110 (a 64-byte service name). */
export function tokenLength(service: string): number {
  return HEADER_BYTES + Buffer.byteLength(service) + MAC_BYTES;
}

/** A fresh key for one backend launch. Travels only over the IPC channel, never on argv or in the environment. */
export function newTokenKey(): Buffer {
  return randomBytes(TOKEN_KEY_BYTES);
}

/** What a genuine token says. */
export interface TokenClaims {
  nonce: Buffer;
  service: string;
  expiresAt: number;
  /** The broker's id for this handshake, reported back in `token-used`. */
  id: number;
}

/** Seals and opens tokens under one key. */
export class TokenSealer {
  /** (key XOR ipad) followed by room for the message, and (key XOR opad) followed by room for the inner hash. */
  readonly #inner = Buffer.alloc(SHA256_BLOCK + HEADER_BYTES + MAX_SERVICE_BYTES);
  readonly #outer = Buffer.alloc(SHA256_BLOCK + 32);
  /** Random bytes fetched 256 nonces at a time: one call to the CSPRNG per nonce costs more than the MAC. */
  #pool = Buffer.alloc(0);
  #poolAt = 0;

  constructor(key: Uint8Array) {
    if (key.length !== TOKEN_KEY_BYTES) throw new RangeError(`a token key is ${TOKEN_KEY_BYTES} bytes, not ${key.length}`);
    for (let i = 0; i < SHA256_BLOCK; i++) {
      this.#inner[i] = (key[i] ?? 0) ^ 0x36;
      this.#outer[i] = (key[i] ?? 0) ^ 0x5c;
    }
  }

  mint(service: string, expiresAt: number, id: number): Buffer {
    const name = Buffer.from(service, "utf8");
    if (name.length === 0 || name.length > MAX_SERVICE_BYTES) throw new RangeError(`service name of ${name.length} bytes`);
    const token = Buffer.allocUnsafe(HEADER_BYTES + name.length + MAC_BYTES);
    token[0] = FORMAT;
    this.#nonce().copy(token, 1);
    token.writeUIntBE(Math.max(0, Math.floor(expiresAt)), 1 + NONCE_BYTES, 6);
    token.writeUIntBE(id, 1 + NONCE_BYTES + 6, 6);
    token[HEADER_BYTES - 1] = name.length;
    name.copy(token, HEADER_BYTES);
    this.#mac(token.subarray(0, HEADER_BYTES + name.length)).copy(token, HEADER_BYTES + name.length);
    return token;
  }

  /** The claims of a token sealed under this key; undefined for anything else (forged, altered, another key). */
  open(token: Uint8Array): TokenClaims | undefined {
    if (token.length < HEADER_BYTES + 1 + MAC_BYTES || token[0] !== FORMAT) return undefined;
    const bytes = Buffer.from(token.buffer, token.byteOffset, token.length);
    const nameLength = bytes[HEADER_BYTES - 1]!;
    if (bytes.length !== HEADER_BYTES + nameLength + MAC_BYTES) return undefined;
    const body = bytes.subarray(0, HEADER_BYTES + nameLength);
    if (!timingSafeEqual(this.#mac(body), bytes.subarray(body.length))) return undefined;
    return {
      nonce: bytes.subarray(1, 1 + NONCE_BYTES),
      expiresAt: bytes.readUIntBE(1 + NONCE_BYTES, 6),
      id: bytes.readUIntBE(1 + NONCE_BYTES + 6, 6),
      service: bytes.toString("utf8", HEADER_BYTES, body.length),
    };
  }

  #nonce(): Buffer {
    if (this.#poolAt + NONCE_BYTES > this.#pool.length) {
      this.#pool = randomBytes(NONCE_BYTES * 256);
      this.#poolAt = 0;
    }
    const nonce = this.#pool.subarray(this.#poolAt, this.#poolAt + NONCE_BYTES);
    this.#poolAt += NONCE_BYTES;
    return nonce;
  }

  /**
   * HMAC-SHA256 with the pads computed once: two one-shot hashes cost about half of createHmac(), and this
   * runs for every Hello. test/core/tokens.test.ts holds it equal to createHmac().
   */
  #mac(body: Uint8Array): Buffer {
    this.#inner.set(body, SHA256_BLOCK);
    (hash("sha256", this.#inner.subarray(0, SHA256_BLOCK + body.length), "buffer") as Buffer).copy(this.#outer, SHA256_BLOCK);
    return (hash("sha256", this.#outer, "buffer") as Buffer).subarray(0, MAC_BYTES);
  }
}

export type ConsumeResult =
  | { ok: true; id: number }
  /** unknown: forged, altered, under another key, or already used (a used token reads as unknown). full: too many used tokens still unexpired. */
  | { ok: false; reason: "unknown" | "expired" | "wrong-service" | "full" };

/**
 * The backend's side: opens tokens under its key and remembers the nonces used until they expire, so each
 * token is good once. A refused token (expired, wrong service) is not used up.
 */
export class TokenChecker {
  readonly #sealer: TokenSealer;
  /** Used nonces (latin1 strings) and when their tokens expire. */
  readonly #used = new Map<string, number>();
  readonly #max: number;

  constructor(key: Uint8Array, options: { maxUsed?: number } = {}) {
    this.#sealer = new TokenSealer(key);
    this.#max = options.maxUsed ?? 1 << 17;
  }

  /** Used tokens remembered (until their expiry). */
  get used(): number {
    return this.#used.size;
  }

  consume(token: Uint8Array, service: string, now = Date.now()): ConsumeResult {
    const claims = this.#sealer.open(token);
    if (!claims) return { ok: false, reason: "unknown" };
    if (claims.expiresAt <= now) return { ok: false, reason: "expired" };
    if (claims.service !== service) return { ok: false, reason: "wrong-service" };
    const nonce = claims.nonce.toString("latin1");
    if (this.#used.has(nonce)) return { ok: false, reason: "unknown" };
    if (this.#used.size >= this.#max) this.sweep(now);
    if (this.#used.size >= this.#max) return { ok: false, reason: "full" };
    this.#used.set(nonce, claims.expiresAt);
    return { ok: true, id: claims.id };
  }

  /** Forgets used tokens that have expired: they are refused as expired from now on. */
  sweep(now = Date.now()): void {
    for (const [nonce, expiresAt] of this.#used) if (expiresAt <= now) this.#used.delete(nonce);
  }
}
