// The sending side of the framing: frames written in one tick leave in one write. Small frames are
// encoded one after another into a shared buffer; a large payload is not copied but written from the
// caller's buffer between its frame's head and tail (one writev). It knows a minimal byte sink, not sockets.
import type { Frame } from "../gen/quire/v1/frame.js";
import { FrameTooLargeError } from "./errors.js";
import { frameBodySize, writeFrameHead, writeFrameTail } from "./frame-body.js";
import { encodeFramed } from "./framing.js";
import { FRAME_HEADER_BYTES, FRAMING_VERSION, MAX_FRAME_BODY_BYTES } from "./protocol.js";

/** Where a FrameWriter puts bytes; a net.Socket is one. `write` returns false when the sink is backed up. */
export interface ByteSink {
  readonly writable: boolean;
  /** `done` runs once the sink is finished with `chunk` (written, or failed). */
  write(chunk: Uint8Array, done?: (error?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
}

/** Payloads from this size on are written from the caller's buffer; smaller ones are copied in. */
const LARGE_PAYLOAD_BYTES = 16 * 1024;
/** Queued bytes that make a write happen now rather than at the end of the tick. */
const FLUSH_BYTES = 64 * 1024;
const ARENA_BYTES = 64 * 1024;
/**
 * A writer's first arena: most connections (a Hello's answer, a few requests) never need more, and a
 * backend accepting thousands of connections a second made 64 KiB of external memory for each.
 */
const FIRST_ARENA_BYTES = 4 * 1024;
const NO_ARENA = Buffer.alloc(0);

export interface FrameWriterOptions {
  /** Called after a write the sink refused to take more after (it returned false): time to stop producing. */
  onFull?: () => void;
}

export class FrameWriter {
  readonly #sink: ByteSink;
  readonly #onFull: (() => void) | undefined;
  /** Encoded bytes are written into the arena from #start on; [#start, #pos) is queued, not yet written. */
  #arena = NO_ARENA;
  #start = 0;
  #pos = 0;
  /** Queued pieces before [#start, #pos): arena slices and large payloads, in order. */
  #pieces: Buffer[] = [];
  #pending = 0;
  /** Called once the queued bytes are written (write()'s `sent`), in order. */
  #sentCallbacks: Array<() => void> = [];
  #scheduled = false;
  readonly #flushSoon = () => {
    this.#scheduled = false;
    this.flush();
  };

  constructor(sink: ByteSink, options: FrameWriterOptions = {}) {
    this.#sink = sink;
    this.#onFull = options.onFull;
  }

  /** Bytes queued and not yet handed to the sink. */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Queues a frame; it is written, after every frame queued before it, at the end of this tick (or at
   * once when much is queued). A payload of 16 KiB or more is written from its own buffer: leave it
   * unchanged until it has been sent: `sent` says when (the write completed or failed). Throws
   * FrameTooLargeError, or the generated encoder's error.
   */
  write(frame: Frame, sent?: () => void): void {
    const size = frameBodySize(frame);
    if (sent) this.#sentCallbacks.push(sent);
    if (size < 0) return this.#queue(encodeFramed(frame)); // values the generated encoder decides on
    if (size > MAX_FRAME_BODY_BYTES) throw new FrameTooLargeError(size, MAX_FRAME_BODY_BYTES, false);
    const payload = frame.payload;
    const inline = payload.length < LARGE_PAYLOAD_BYTES;
    const room = FRAME_HEADER_BYTES + (inline ? size : size - payload.length);
    if (this.#arena.length - this.#pos < room) this.#newArena(room);
    const arena = this.#arena;
    let pos = this.#pos;
    arena[pos] = FRAMING_VERSION;
    arena.writeUInt32LE(size, pos + 1);
    pos = writeFrameHead(frame, arena, pos + FRAME_HEADER_BYTES);
    if (inline) {
      arena.set(payload, pos);
      pos += payload.length;
    } else {
      this.#pieces.push(arena.subarray(this.#start, pos), payload);
      this.#start = pos;
    }
    this.#pos = writeFrameTail(frame, arena, pos);
    this.#queued(FRAME_HEADER_BYTES + size);
  }

  /** Hands everything queued to the sink now. */
  flush(): void {
    if (this.#pos > this.#start) {
      this.#pieces.push(this.#arena.subarray(this.#start, this.#pos));
      this.#start = this.#pos;
    }
    const pieces = this.#pieces;
    if (pieces.length === 0) return;
    this.#pieces = [];
    this.#pending = 0;
    const callbacks = this.#sentCallbacks;
    if (callbacks.length > 0) this.#sentCallbacks = [];
    const done = callbacks.length === 0 ? undefined : () => runAll(callbacks);
    const sink = this.#sink;
    if (!sink.writable) return done?.(); // ended or destroyed: nothing more can be sent
    let ok: boolean;
    // The last piece's callback comes after the earlier pieces' (one writev when corked).
    if (pieces.length === 1) ok = sink.write(pieces[0]!, done);
    else {
      sink.cork();
      for (let i = 0; i < pieces.length; i++) ok = sink.write(pieces[i]!, i === pieces.length - 1 ? done : undefined);
      sink.uncork();
    }
    if (!ok! && this.#onFull) this.#onFull();
  }

  /** Queues bytes encoded elsewhere. */
  #queue(bytes: Buffer): void {
    if (this.#pos > this.#start) this.#pieces.push(this.#arena.subarray(this.#start, this.#pos));
    this.#start = this.#pos;
    this.#pieces.push(bytes);
    this.#queued(bytes.length);
  }

  #queued(bytes: number): void {
    this.#pending += bytes;
    if (this.#pending >= FLUSH_BYTES) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      process.nextTick(this.#flushSoon);
    }
  }

  /**
   * Starts a fresh arena; bytes queued in the old one stay queued, as a slice of it, except when the first
   * (small) arena is outgrown: they are few, and copied over so that what is queued stays one buffer.
   */
  #newArena(room: number): void {
    const old = this.#arena;
    const first = old === NO_ARENA;
    const outgrown = old.length === FIRST_ARENA_BYTES;
    const arena = Buffer.allocUnsafeSlow(
      Math.max(first ? FIRST_ARENA_BYTES : ARENA_BYTES, room + (outgrown ? this.#pos - this.#start : 0)),
    );
    if (outgrown) {
      this.#pos = old.copy(arena, 0, this.#start, this.#pos);
    } else {
      if (this.#pos > this.#start) this.#pieces.push(old.subarray(this.#start, this.#pos));
      this.#pos = 0;
    }
    this.#arena = arena;
    this.#start = 0;
  }
}

function runAll(callbacks: Array<() => void>): void {
  for (const callback of callbacks) callback();
}
