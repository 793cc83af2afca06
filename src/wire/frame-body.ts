// The Frame envelope, encoded and decoded by hand: every byte on every connection passes through here,
// and the generated codec (on @bufbuild's general-purpose BinaryWriter/Reader) is several times slower.
// The generated `Frame` stays the reference: anything this code is not certain about (unknown fields,
// odd wire types, overlong varints, non-ASCII strings, truncation, invalid values) is handed to it, so
// the results are the generated code's by construction. Golden bytes and a fuzz test comparing both
// codecs (and protobufjs) pin it.
import { Frame } from "../gen/quire/v1/frame.js";

const EMPTY = Buffer.alloc(0);
const TWO_POW_32 = 2 ** 32;
const MAX_UINT64 = 2n ** 64n - 1n;

// Tags of fields 1..9 with their declared wire types; each fits in one byte.
const TAG_ENVELOPE = 8;
const TAG_KIND = 16;
const TAG_LANE = 24;
const TAG_PAYLOAD = 34;
const TAG_REQUEST_ID = 40;
const TAG_ENCODING = 48;
const TAG_DEADLINE = 56;
const TAG_TRACEPARENT = 66;
const TAG_TRACESTATE = 74;

/** The frame's protobuf body behind `headerBytes` bytes left for the caller to fill. */
export function encodeFrameBody(frame: Frame, headerBytes: number): Buffer {
  const size = frameBodySize(frame);
  if (size < 0) return withHeader(Frame.encode(frame).finish(), headerBytes); // throws the generated code's error
  const out = Buffer.allocUnsafe(headerBytes + size);
  let pos = writeFrameHead(frame, out, headerBytes);
  out.set(frame.payload, pos);
  pos += frame.payload.length;
  writeFrameTail(frame, out, pos);
  return out;
}

/**
 * The size of the frame's body, or -1 when a field holds a value this code leaves to the generated
 * encoder (which refuses it, or encodes it its own way).
 */
export function frameBodySize(frame: Frame): number {
  const { envelopeVersion, kind, payloadProtocol, payload, requestId, payloadEncoding, deadlineUnixMs, traceparent, tracestate } = frame;
  if (
    !isUint32(envelopeVersion) ||
    !isInt32(kind) ||
    !isUint32(payloadProtocol) ||
    !isInt32(payloadEncoding) ||
    !isUint64(requestId) ||
    !isUint64(deadlineUnixMs)
  ) {
    return -1;
  }
  let size = 0;
  if (envelopeVersion !== 0) size += 1 + varint32Size(envelopeVersion);
  if (kind !== 0) size += 1 + (kind < 0 ? 10 : varint32Size(kind));
  if (payloadProtocol !== 0) size += 1 + varint32Size(payloadProtocol);
  if (payload.length !== 0) size += 1 + varint32Size(payload.length) + payload.length;
  if (requestId !== 0n) size += 1 + varint64Size(requestId);
  if (payloadEncoding !== 0) size += 1 + (payloadEncoding < 0 ? 10 : varint32Size(payloadEncoding));
  if (deadlineUnixMs !== 0n) size += 1 + varint64Size(deadlineUnixMs);
  if (traceparent !== "") size += stringFieldSize(traceparent);
  if (tracestate !== "") size += stringFieldSize(tracestate);
  return size;
}

/**
 * Writes the fields before the payload bytes (1–3, then field 4's tag and length) at `pos`; returns
 * where the payload goes. Only for a frame whose frameBodySize() is not -1.
 */
export function writeFrameHead(frame: Frame, out: Buffer, pos: number): number {
  const { envelopeVersion, kind, payloadProtocol, payload } = frame;
  if (envelopeVersion !== 0) {
    out[pos++] = TAG_ENVELOPE;
    pos = writeVarint32(out, pos, envelopeVersion);
  }
  if (kind !== 0) {
    out[pos++] = TAG_KIND;
    pos = writeInt32(out, pos, kind);
  }
  if (payloadProtocol !== 0) {
    out[pos++] = TAG_LANE;
    pos = writeVarint32(out, pos, payloadProtocol);
  }
  if (payload.length !== 0) {
    out[pos++] = TAG_PAYLOAD;
    pos = writeVarint32(out, pos, payload.length);
  }
  return pos;
}

/** Writes the fields after the payload (5–9) at `pos`; returns the end. */
export function writeFrameTail(frame: Frame, out: Buffer, pos: number): number {
  const { requestId, payloadEncoding, deadlineUnixMs, traceparent, tracestate } = frame;
  if (requestId !== 0n) {
    out[pos++] = TAG_REQUEST_ID;
    pos = writeVarint64(out, pos, requestId);
  }
  if (payloadEncoding !== 0) {
    out[pos++] = TAG_ENCODING;
    pos = writeInt32(out, pos, payloadEncoding);
  }
  if (deadlineUnixMs !== 0n) {
    out[pos++] = TAG_DEADLINE;
    pos = writeVarint64(out, pos, deadlineUnixMs);
  }
  if (traceparent !== "") pos = writeString(out, pos, TAG_TRACEPARENT, traceparent);
  if (tracestate !== "") pos = writeString(out, pos, TAG_TRACESTATE, tracestate);
  return pos;
}

function stringFieldSize(text: string): number {
  const bytes = Buffer.byteLength(text);
  return 1 + varint32Size(bytes) + bytes;
}

function writeString(out: Buffer, pos: number, tag: number, text: string): number {
  out[pos++] = tag;
  pos = writeVarint32(out, pos, Buffer.byteLength(text));
  return pos + out.write(text, pos, "utf8");
}

/**
 * Decodes the Frame body in `buf` from `start` to `end`; throws (the generated decoder's error) on
 * malformed input. The payload is a view of `buf`, so `buf` must not be reused while the frame lives;
 * with `detach`, a payload smaller than half of the memory a view would keep alive (`buf.buffer`) is
 * copied instead, so that holding on to it does not hold on to a whole read chunk.
 */
export function decodeFrameBody(buf: Buffer, start = 0, end = buf.length, detach = false): Frame {
  const frame: Frame = {
    envelopeVersion: 0,
    kind: 0,
    payloadProtocol: 0,
    payload: EMPTY,
    requestId: 0n,
    payloadEncoding: 0,
    deadlineUnixMs: 0n,
    traceparent: "",
    tracestate: "",
  };
  let pos = start;
  while (pos < end) {
    const tag = buf[pos++]!;
    if (tag === TAG_PAYLOAD || tag === TAG_TRACEPARENT || tag === TAG_TRACESTATE) {
      const len = readSmallVarint(buf, pos, end);
      if (len < 0) return reference(buf, start, end);
      pos += varintSize(len);
      if (pos + len > end) return reference(buf, start, end);
      if (tag === TAG_PAYLOAD)
        frame.payload =
          len === 0 ? EMPTY : detach && len * 2 < buf.buffer.byteLength ? copyOf(buf, pos, len) : buf.subarray(pos, pos + len);
      else {
        for (let i = pos; i < pos + len; i++) if (buf[i]! > 0x7f) return reference(buf, start, end);
        const text = buf.toString("latin1", pos, pos + len);
        if (tag === TAG_TRACEPARENT) frame.traceparent = text;
        else frame.tracestate = text;
      }
      pos += len;
      continue;
    }
    if (tag === TAG_REQUEST_ID || tag === TAG_DEADLINE) {
      const value = readSmallVarint(buf, pos, end);
      if (value < 0) return reference(buf, start, end);
      pos += varintSize(value);
      if (tag === TAG_REQUEST_ID) frame.requestId = BigInt(value);
      else frame.deadlineUnixMs = BigInt(value);
      continue;
    }
    if (tag === TAG_ENVELOPE || tag === TAG_KIND || tag === TAG_LANE || tag === TAG_ENCODING) {
      const value = readSmallVarint(buf, pos, end);
      if (value < 0 || value >= TWO_POW_32) return reference(buf, start, end);
      pos += varintSize(value);
      if (tag === TAG_ENVELOPE) frame.envelopeVersion = value;
      else if (tag === TAG_LANE) frame.payloadProtocol = value;
      else if (tag === TAG_KIND) frame.kind = value | 0;
      else frame.payloadEncoding = value | 0;
      continue;
    }
    return reference(buf, start, end); // unknown field, another wire type, or tag 0: the reference decides
  }
  return frame;
}

/** The generated decoder's answer for the same bytes. */
function reference(buf: Buffer, start: number, end: number): Frame {
  return Frame.decode(buf.subarray(start, end));
}

function copyOf(buf: Buffer, pos: number, len: number): Buffer {
  const copy = Buffer.allocUnsafe(len);
  buf.copy(copy, 0, pos, pos + len);
  return copy;
}

/**
 * A varint of at most 7 bytes (values below 2^49, exact as a number) in its minimal encoding; -1 for
 * anything else (longer, overlong, or running past the end), which the caller hands to the reference.
 */
function readSmallVarint(buf: Buffer, pos: number, end: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    if (pos + i >= end) return -1;
    const b = buf[pos + i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return b === 0 && i > 0 ? -1 : value;
    scale *= 128;
  }
  return -1;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function varint32Size(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

function varint64Size(value: bigint): number {
  if (value <= 0xffffffffn) return varint32Size(Number(value)); // request ids, deadlines in ms: no BigInt arithmetic
  let size = 1;
  while (value >= 128n) {
    value >>= 7n;
    size++;
  }
  return size;
}

function writeVarint32(out: Buffer, pos: number, value: number): number {
  while (value >= 0x80) {
    out[pos++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[pos++] = value;
  return pos;
}

/** Negative int32s are sign-extended to 64 bits: ten bytes, as protobuf requires. */
function writeInt32(out: Buffer, pos: number, value: number): number {
  if (value >= 0) return writeVarint32(out, pos, value);
  return writeVarint64(out, pos, BigInt.asUintN(64, BigInt(value)));
}

function writeVarint64(out: Buffer, pos: number, value: bigint): number {
  if (value <= 0x1fffffffffffffn) {
    let n = Number(value);
    while (n >= 0x80) {
      out[pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    out[pos++] = n;
    return pos;
  }
  while (value >= 0x80n) {
    out[pos++] = Number(value & 0x7fn) | 0x80;
    value >>= 7n;
  }
  out[pos++] = Number(value);
  return pos;
}

function withHeader(body: Uint8Array, headerBytes: number): Buffer {
  const out = Buffer.allocUnsafe(headerBytes + body.length);
  out.set(body, headerBytes);
  return out;
}

function isUint32(v: number): boolean {
  return Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function isInt32(v: number): boolean {
  return Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff;
}

function isUint64(v: bigint): boolean {
  return typeof v === "bigint" && v >= 0n && v <= MAX_UINT64;
}
