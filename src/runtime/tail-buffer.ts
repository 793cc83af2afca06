// The last bytes of a stream, copied into a ring of their own: a chunk given to it is not kept alive (a
// step's output at full speed would otherwise hold each PTY read until many more had come, long enough for
// the garbage collector to move it to the old generation, where it costs a full collection).

export class TailBuffer {
  readonly #limit: number;
  /** Grown as bytes come, up to the limit; then written round. */
  #ring: Buffer = Buffer.alloc(0);
  /** Bytes pushed in all. */
  #total = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    const skipped = Math.max(0, chunk.length - this.#limit);
    const total = this.#total + chunk.length;
    if (this.#ring.length < Math.min(total, this.#limit)) this.#grow(total);
    const at = (this.#total + skipped) % this.#limit;
    const first = Math.min(chunk.length - skipped, this.#limit - at);
    chunk.copy(this.#ring, at, skipped, skipped + first);
    chunk.copy(this.#ring, 0, skipped + first);
    this.#total = total;
  }

  /** Bytes pushed in all (more than are kept, past the limit). */
  get pushed(): number {
    return this.#total;
  }

  /** Forgets everything pushed. */
  clear(): void {
    this.#total = 0;
  }

  /** The last `limit` bytes pushed (fewer when fewer were), or the last `count` of them. */
  bytes(count = this.#limit): Buffer {
    const kept = Math.min(this.#total, this.#limit, count);
    const end = this.#total % this.#limit;
    if (this.#total <= this.#limit) return Buffer.from(this.#ring.subarray(this.#total - kept, this.#total));
    const start = (end - kept + this.#limit) % this.#limit;
    return start < end || kept === 0
      ? Buffer.from(this.#ring.subarray(start, start + kept))
      : Buffer.concat([this.#ring.subarray(start), this.#ring.subarray(0, end)]);
  }

  /** A ring big enough for `needed` bytes (doubling, up to the limit), holding what was pushed so far. */
  #grow(needed: number): void {
    const ring = Buffer.alloc(Math.min(this.#limit, Math.max(needed, 2 * this.#ring.length, 256)));
    this.#ring.copy(ring, 0, 0, this.#total);
    this.#ring = ring;
  }
}
