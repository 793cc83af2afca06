// The last bytes of a stream, kept by reference to its chunks (no copy until asked for).

export class TailBuffer {
  readonly #limit: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    while (this.#size - this.#chunks[0]!.length >= this.#limit) this.#size -= this.#chunks.shift()!.length;
  }

  /** The last `limit` bytes pushed (fewer when fewer were), or the last `count` of them. */
  bytes(count = this.#limit): Buffer {
    const all = Buffer.concat(this.#chunks);
    const keep = Math.min(count, this.#limit);
    return all.length > keep ? all.subarray(all.length - keep) : all;
  }
}
