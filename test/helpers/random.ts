// A seeded PRNG (mulberry32) so a failing fuzz case can be replayed: the seed is in the test name.

export class Random {
  #state: number;

  constructor(readonly seed: number) {
    this.#state = seed >>> 0;
  }

  /** [0, 1) */
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(below: number): number {
    return Math.floor(this.next() * below);
  }

  bytes(length: number): Buffer {
    const out = Buffer.allocUnsafe(length);
    for (let i = 0; i < length; i++) out[i] = this.int(256);
    return out;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bigint64(): bigint {
    return (BigInt(this.int(2 ** 32)) << 32n) | BigInt(this.int(2 ** 32));
  }

  /** Flips, inserts, deletes or overwrites a few bytes. */
  mutate(input: Buffer): Buffer {
    const bytes = [...input];
    for (let n = 1 + this.int(4); n > 0; n--) {
      const at = this.int(bytes.length + 1);
      switch (this.int(4)) {
        case 0:
          if (at < bytes.length) bytes[at] = bytes[at]! ^ (1 << this.int(8));
          break;
        case 1:
          bytes.splice(at, 0, this.int(256));
          break;
        case 2:
          bytes.splice(at, 1 + this.int(8));
          break;
        default:
          if (at < bytes.length) bytes[at] = this.pick([0, 0xff, 0x7f, 0x80, 1]);
      }
    }
    return Buffer.from(bytes);
  }
}

export function fuzzIterations(fallback: number): number {
  const n = Number(process.env.QUIRE_FUZZ_ITERATIONS);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

export function fuzzSeed(): number {
  const n = Number(process.env.QUIRE_FUZZ_SEED);
  return Number.isFinite(n) && n > 0 ? n : (Date.now() ^ (process.pid << 8)) >>> 0;
}
