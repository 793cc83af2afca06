// Output kept in memory: the head and the tail within a byte budget, and a marker saying how much of the
// middle was dropped. Memory stays bounded however much a command prints.

export class OutputCapture {
  readonly #headLimit: number;
  readonly #tailLimit: number;
  readonly #head: Buffer[] = [];
  #headBytes = 0;
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #total = 0;

  /** Keeps half the budget for the head and half for the tail, unless told how much head to keep. */
  constructor(maxBytes: number, headBytes = Math.ceil(maxBytes / 2)) {
    this.#headLimit = Math.min(headBytes, maxBytes);
    this.#tailLimit = maxBytes - this.#headLimit;
  }

  /** The kept tail alone (everything, if nothing was dropped and no head is kept). */
  tail(): Buffer {
    return Buffer.concat(this.#tail);
  }

  /** Bytes seen in all. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Bytes seen but not kept. */
  get droppedBytes(): number {
    return this.#total - this.#headBytes - this.#tailBytes;
  }

  append(chunk: Buffer): void {
    this.#total += chunk.length;
    const forHead = Math.min(chunk.length, this.#headLimit - this.#headBytes);
    if (forHead > 0) {
      // Copied: the caller's buffer may be a view of a larger one we must not keep alive.
      this.#head.push(Buffer.from(chunk.subarray(0, forHead)));
      this.#headBytes += forHead;
    }
    const rest = chunk.subarray(forHead);
    if (rest.length === 0 || this.#tailLimit === 0) return;
    const keep = rest.length > this.#tailLimit ? rest.subarray(rest.length - this.#tailLimit) : rest;
    this.#tail.push(Buffer.from(keep));
    this.#tailBytes += keep.length;
    while (this.#tailBytes - this.#tail[0]!.length >= this.#tailLimit) this.#tailBytes -= this.#tail.shift()!.length;
    if (this.#tailBytes > this.#tailLimit) {
      const excess = this.#tailBytes - this.#tailLimit;
      this.#tail[0] = this.#tail[0]!.subarray(excess);
      this.#tailBytes -= excess;
    }
  }

  toString(): string {
    const head = Buffer.concat(this.#head).toString("utf8");
    const tail = Buffer.concat(this.#tail).toString("utf8");
    const dropped = this.droppedBytes;
    return dropped > 0 ? `${head}\n[quire: ${dropped} bytes of output dropped here]\n${tail}` : head + tail;
  }
}
