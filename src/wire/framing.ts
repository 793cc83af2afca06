// The framing: `[u8 framing_version = 1][u32 LE body length][body = protobuf Frame]`, and the FrameDecoder.
// It knows bytes, not sockets. The decoder is total: any input yields frames or one typed error.

import { Frame_Kind, Frame_PayloadEncoding, type Frame } from "../gen/quire/v1/frame.js";
import {
  EnvelopeVersionError,
  FrameKindError,
  FrameMalformedError,
  FrameTooLargeError,
  FrameTruncatedError,
  FramingVersionError,
  PayloadEncodingError,
  UnknownLaneError,
  type WireError,
} from "./errors.js";
import type { BodyPool } from "./body-pool.js";
import { decodeFrameBody, encodeFrameBody } from "./frame-body.js";
import { isKnownLane } from "./lanes.js";
import { ENVELOPE_VERSION, FRAME_HEADER_BYTES, FRAMING_VERSION, MAX_FIRST_FRAME_BODY_BYTES, MAX_FRAME_BODY_BYTES } from "./protocol.js";

/** A Frame with the envelope defaults filled in; pass only what differs. */
export function newFrame(fields: Partial<Frame>): Frame {
  return {
    envelopeVersion: ENVELOPE_VERSION,
    kind: Frame_Kind.REQUEST,
    payloadProtocol: 0,
    payload: EMPTY,
    requestId: 0n,
    payloadEncoding: Frame_PayloadEncoding.NONE,
    deadlineUnixMs: 0n,
    traceparent: "",
    tracestate: "",
    ...fields,
  };
}

const EMPTY = Buffer.alloc(0);

/** Encodes one frame with its framing header, ready to write. */
export function encodeFramed(frame: Frame): Buffer {
  return writeHeader(encodeFrameBody(frame, FRAME_HEADER_BYTES));
}

/** Puts the framing header in front of an encoded body. */
export function frameBody(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.set(body, FRAME_HEADER_BYTES);
  return writeHeader(out);
}

/** Fills in the header of a buffer whose body starts at FRAME_HEADER_BYTES; refuses an oversized body. */
function writeHeader(out: Buffer): Buffer {
  const length = out.length - FRAME_HEADER_BYTES;
  if (length > MAX_FRAME_BODY_BYTES) throw new FrameTooLargeError(length, MAX_FRAME_BODY_BYTES, false);
  out[0] = FRAMING_VERSION;
  out.writeUInt32LE(length, 1);
  return out;
}

/** Checks a decoded frame's envelope in the wire's order (envelope_version, kind, payload_protocol, encoding); undefined when it is good. */
export function validateFrame(frame: Frame): WireError | undefined {
  if (frame.envelopeVersion !== ENVELOPE_VERSION) return new EnvelopeVersionError(frame.envelopeVersion);
  if (!(frame.kind >= Frame_Kind.REQUEST && frame.kind <= Frame_Kind.CANCEL)) return new FrameKindError(frame.kind);
  if (!isKnownLane(frame.payloadProtocol)) return new UnknownLaneError(frame.payloadProtocol);
  if (frame.payloadEncoding !== Frame_PayloadEncoding.NONE) return new PayloadEncodingError(frame.payloadEncoding);
  return undefined;
}

export interface FrameDecoderOptions {
  /** Largest body after the first frame. */
  maxBodyBytes?: number;
  /** Largest body of the first frame on the connection. */
  maxFirstBodyBytes?: number;
  /** Check each frame's envelope (default true); off only to look at framing alone. */
  validate?: boolean;
  /**
   * Payloads are views of the received chunks (no copy). Set this where frames go to code that may keep
   * a payload for long: a payload smaller than half of its chunk is then copied, so it does not keep the
   * whole chunk (up to 64 KiB from a socket) alive.
   */
  detachSmallPayloads?: boolean;
  /**
   * Read large bodies into buffers from this pool. Only for frames that go to code that gives each one
   * back with release() once nothing reads its payload any more (a service that hands payloads straight back).
   */
  bodyPool?: BodyPool;
}

/** Bodies from this size on are read straight into a buffer of their own (see readBuffer()). */
const DIRECT_BODY_BYTES = 32 * 1024;
/**
 * The decoder's own read buffer (small, as every connection keeps one, idle or not), and the least room
 * worth reading into before starting a fresh one.
 */
const READ_BUFFER_BYTES = 16 * 1024;
const MIN_READ_BYTES = 4 * 1024;
/** After a large frame the next read is this short: the next header, and little of its body to copy. */
const PEEK_BYTES = 256;

/**
 * Incremental decoder: `push()` bytes as they arrive, then call `next()` until it returns undefined.
 * After an error the stream cannot be resynchronised: every later `next()` returns the same error.
 *
 * A socket can instead read straight into the decoder (`net`'s `onread`): `readBuffer()` says where the
 * next read goes, `wrote(n)` that it put n bytes there. Small frames then share one read buffer (no
 * allocation per read), and a large body is read into its own buffer: never copied, never spread over
 * chunks that must be gathered.
 */
export class FrameDecoder {
  readonly #maxBody: number;
  readonly #maxFirstBody: number;
  readonly #validate: boolean;
  readonly #detach: boolean;
  readonly #pool: BodyPool | undefined;
  /** Frames whose body came from the pool, until they are released. */
  readonly #pooled = new WeakMap<Frame, Buffer>();
  #chunks: Buffer[] = [];
  /** Bytes of chunks[0] already consumed. */
  #offset = 0;
  #buffered = 0;
  /** Body length of the frame being assembled, once its header has arrived. */
  #bodyLength = -1;
  #decoded = 0;
  #error: WireError | undefined;
  /** readBuffer() mode: the shared read buffer and the first free byte in it. */
  #readBuffer: Buffer | undefined;
  #readAt = 0;
  /** A large body being read into its own buffer, and how much of it has arrived. */
  #body: Buffer | undefined;
  #bodyFilled = 0;
  /** Whether the last readBuffer() handed out the body (else the shared read buffer). */
  #readingBody = false;
  /** The last frame was large: read just past the next header, so little of a large body lands in the shared buffer. */
  #peek = false;

  constructor(options: FrameDecoderOptions = {}) {
    this.#maxBody = options.maxBodyBytes ?? MAX_FRAME_BODY_BYTES;
    this.#maxFirstBody = options.maxFirstBodyBytes ?? MAX_FIRST_FRAME_BODY_BYTES;
    this.#validate = options.validate ?? true;
    this.#detach = options.detachSmallPayloads ?? false;
    this.#pool = options.bodyPool;
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Frames returned so far. */
  get decoded(): number {
    return this.#decoded;
  }

  /** Adds received bytes. The decoder keeps the chunk, and frames' payloads are views of it: do not reuse it. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.#error) return;
    let bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.#body) {
      const into = Math.min(bytes.length, this.#bodyLength - this.#bodyFilled);
      this.#body.set(bytes.subarray(0, into), this.#bodyFilled);
      this.#bodyFilled += into;
      this.#buffered += into;
      bytes = bytes.subarray(into);
      if (bytes.length === 0) return;
    }
    this.#chunks.push(bytes);
    this.#buffered += bytes.length;
  }

  /**
   * Where the next read should put its bytes: the rest of a large body, or free room in the decoder's own
   * read buffer. Follow each read with `wrote(n)`; the bytes must not be touched afterwards.
   */
  readBuffer(): Buffer {
    this.#readingBody = false;
    if (this.#error) return (this.#readBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES)).subarray(0, MIN_READ_BYTES);
    if (this.#body ? this.#bodyFilled < this.#bodyLength : this.#bodyLength >= DIRECT_BODY_BYTES && this.#buffered < this.#bodyLength) {
      this.#body ??= this.#bodyBuffer();
      this.#readingBody = true;
      return this.#body.subarray(this.#bodyFilled, this.#bodyLength);
    }
    if (!this.#readBuffer || this.#readBuffer.length - this.#readAt < MIN_READ_BYTES) {
      this.#readBuffer = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
      this.#readAt = 0;
    }
    const end = this.#peek ? this.#readAt + PEEK_BYTES : this.#readBuffer.length;
    return this.#readBuffer.subarray(this.#readAt, end);
  }

  /** The read into the last readBuffer() put `n` bytes there. */
  wrote(n: number): void {
    if (n <= 0 || this.#error) return;
    if (this.#readingBody) {
      this.#bodyFilled += n;
      this.#buffered += n;
      return;
    }
    this.push(this.#readBuffer!.subarray(this.#readAt, this.#readAt + n));
    this.#readAt += n;
  }

  /** The next whole frame, the error that ends the stream, or undefined until more bytes arrive. */
  next(): Frame | WireError | undefined {
    if (this.#error) return this.#error;
    if (this.#bodyLength < 0) {
      if (this.#buffered < FRAME_HEADER_BYTES) return undefined;
      // Read the header in place when the first chunk holds it (the usual case): no view, no copy.
      let header = this.#chunks[0]!;
      let at = this.#offset;
      if (header.length - at >= FRAME_HEADER_BYTES) this.#skip(FRAME_HEADER_BYTES);
      else [header, at] = [this.#take(FRAME_HEADER_BYTES), 0];
      if (header[at] !== FRAMING_VERSION) return this.#fail(new FramingVersionError(header[at]!));
      const length = header.readUInt32LE(at + 1);
      const isFirstFrame = this.#decoded === 0;
      const limit = isFirstFrame ? this.#maxFirstBody : this.#maxBody;
      if (length > limit) return this.#fail(new FrameTooLargeError(length, limit, isFirstFrame));
      this.#bodyLength = length;
    }
    const length = this.#bodyLength;
    if (this.#buffered < length) return undefined;
    this.#bodyLength = -1;
    let frame: Frame;
    /** The body's own buffer, when it came from the pool. */
    let pooled: Buffer | undefined;
    try {
      // A body within the first chunk is decoded in place; one spread over chunks is gathered first.
      const first = this.#chunks[0];
      if (this.#body) {
        pooled = this.#pool && this.#body;
        frame = decodeFrameBody(this.#takeBody());
      } else if (length === 0) frame = decodeFrameBody(EMPTY);
      else if (first!.length - this.#offset >= length) {
        const at = this.#offset;
        this.#skip(length);
        // Chunks of the decoder's own read buffer share it: a small payload must not keep it all alive.
        frame = decodeFrameBody(first!, at, at + length, this.#detach || this.#readBuffer !== undefined);
      } else {
        const body = this.#take(length, this.#pool !== undefined && length >= DIRECT_BODY_BYTES);
        if (this.#pool && length >= DIRECT_BODY_BYTES) pooled = body;
        frame = decodeFrameBody(body);
      }
    } catch (cause) {
      if (pooled) this.#pool!.release(pooled);
      return this.#fail(new FrameMalformedError(cause));
    }
    const invalid = this.#validate ? validateFrame(frame) : undefined;
    if (invalid) {
      if (pooled) this.#pool!.release(pooled);
      return this.#fail(invalid);
    }
    if (pooled) this.#pooled.set(frame, pooled);
    this.#decoded++;
    this.#peek = length >= DIRECT_BODY_BYTES;
    return frame;
  }

  /**
   * Gives the body of `frame` (from next()) back to the pool: nothing may read its payload afterwards. A
   * frame whose body is not pooled, or is released already, is left alone, so a second call frees nothing.
   */
  release(frame: Frame): void {
    const body = this.#pooled.get(frame);
    if (!body) return;
    this.#pooled.delete(frame);
    this.#pool!.release(body);
  }

  /** Call when the stream ends: an error when it ended inside a frame. */
  end(): WireError | undefined {
    if (this.#error) return this.#error;
    if (this.#buffered === 0 && this.#bodyLength < 0) return undefined;
    const need = this.#bodyLength < 0 ? FRAME_HEADER_BYTES : FRAME_HEADER_BYTES + this.#bodyLength;
    const have = this.#bodyLength < 0 ? this.#buffered : FRAME_HEADER_BYTES + this.#buffered;
    return this.#fail(new FrameTruncatedError(have, need));
  }

  /**
   * Takes the raw bytes not yet decoded, including a partly read frame's header, and leaves the decoder
   * empty. Used to pass a connection on to another process with nothing lost.
   */
  takeRemainder(): Buffer {
    const parts = this.#chunks;
    if (parts.length > 0) parts[0] = parts[0]!.subarray(this.#offset);
    this.#offset = 0;
    if (this.#body) parts.unshift(this.#takeBody());
    if (this.#bodyLength >= 0) {
      const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
      header[0] = FRAMING_VERSION;
      header.writeUInt32LE(this.#bodyLength, 1);
      parts.unshift(header);
    }
    this.#chunks = [];
    this.#buffered = 0;
    this.#bodyLength = -1;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  #fail(error: WireError): WireError {
    this.#error = error;
    this.#body = undefined;
    this.#bodyFilled = 0;
    this.#chunks = [];
    this.#offset = 0;
    this.#buffered = 0;
    return error;
  }

  /** A buffer of its own for the body being assembled, holding the bytes of it buffered so far (all of them are its). */
  #bodyBuffer(): Buffer {
    const body = this.#pool ? this.#pool.take(this.#bodyLength) : Buffer.allocUnsafeSlow(this.#bodyLength);
    const have = this.#buffered;
    if (have > 0) this.#take(have).copy(body);
    this.#buffered = have;
    this.#bodyFilled = have;
    return body;
  }

  /** The body buffer's bytes so far (all of it once complete), leaving the decoder without one. */
  #takeBody(): Buffer {
    const body = this.#body!.subarray(0, this.#bodyFilled);
    this.#buffered -= this.#bodyFilled;
    this.#body = undefined;
    this.#bodyFilled = 0;
    return body;
  }

  /** Drops n bytes that lie within the first chunk. */
  #skip(n: number): void {
    this.#buffered -= n;
    this.#offset += n;
    if (this.#offset === this.#chunks[0]!.length) {
      this.#chunks.shift();
      this.#offset = 0;
    }
  }

  /**
   * Removes n buffered bytes from the front: a view, not a copy, when one chunk holds them all (unless
   * `pooled`: then always a copy into a buffer from the pool).
   */
  #take(n: number, pooled = false): Buffer {
    if (n === 0) return EMPTY;
    const first = this.#chunks[0]!;
    if (first.length - this.#offset >= n && !pooled) {
      const out = first.subarray(this.#offset, this.#offset + n);
      this.#skip(n);
      return out;
    }
    // allocUnsafeSlow: a body of its own, so a payload view of it keeps nothing else alive.
    const out = pooled ? this.#pool!.take(n) : Buffer.allocUnsafeSlow(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.#chunks[0]!;
      const available = chunk.length - this.#offset;
      const want = Math.min(n - filled, available);
      out.set(chunk.subarray(this.#offset, this.#offset + want), filled);
      filled += want;
      this.#skip(want);
    }
    return out;
  }
}
