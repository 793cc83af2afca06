// Reusable buffers for large frame bodies, for services that hand a payload straight back (echo). A
// decoder given a pool reads each large body into a buffer taken from it; the service gives the buffer
// back (FrameDecoder.release) once nothing will read the payload again: for a payload sent back, once
// the write that carries it has completed. Without it every 64 KiB body is an ArrayBuffer of its own,
// and under that external-memory pressure V8 runs full mark-compacts where it would mostly scavenge.
// Only decoders of services that promise the release get a pool, so nobody else sees pooled memory.

/** The smallest pooled size: bodies smaller than this are not read into buffers of their own anyway. */
const MIN_CLASS_BYTES = 32 * 1024;

export interface BodyPoolOptions {
  /** Free buffers kept per size class (default 16). */
  perClass?: number;
  /** Free bytes kept in all (default 8 MiB); a buffer released past it is left to the garbage collector. */
  maxFreeBytes?: number;
  /** Overwrite each released buffer with this byte (tests: a payload read after its release shows it). */
  poison?: number;
}

export class BodyPool {
  readonly #perClass: number;
  readonly #maxFreeBytes: number;
  readonly #poison: number | undefined;
  /** Free buffers by size class (a power of two). */
  readonly #free = new Map<number, ArrayBuffer[]>();
  #freeBytes = 0;

  constructor(options: BodyPoolOptions = {}) {
    this.#perClass = options.perClass ?? 16;
    this.#maxFreeBytes = options.maxFreeBytes ?? 8 * 1024 * 1024;
    this.#poison = options.poison;
  }

  /** Free bytes the pool holds now. */
  get freeBytes(): number {
    return this.#freeBytes;
  }

  /** A buffer of exactly `length` bytes (contents undefined), from a free one of its size class when there is one. */
  take(length: number): Buffer {
    const size = sizeClass(length);
    const store = this.#free.get(size)?.pop();
    if (store) this.#freeBytes -= size;
    return Buffer.from(store ?? new ArrayBuffer(size), 0, length);
  }

  /** Gives back a buffer take() returned; the caller and every view of it must not touch it again. */
  release(buffer: Buffer): void {
    const store = buffer.buffer as ArrayBuffer;
    const size = store.byteLength;
    if (size < MIN_CLASS_BYTES || sizeClass(size) !== size) return;
    if (this.#poison !== undefined) new Uint8Array(store).fill(this.#poison);
    const free = this.#free.get(size) ?? [];
    if (free.length >= this.#perClass || this.#freeBytes + size > this.#maxFreeBytes) return;
    free.push(store);
    this.#free.set(size, free);
    this.#freeBytes += size;
  }
}

function sizeClass(length: number): number {
  let size = MIN_CLASS_BYTES;
  while (size < length) size *= 2;
  return size;
}
