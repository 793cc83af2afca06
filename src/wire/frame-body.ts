// The Frame envelope, encoded and decoded by hand: every byte on every connection passes through here,
// and the generated codec (on @bufbuild's general-purpose BinaryWriter/Reader) is several times slower.
// The generated `Frame` stays the reference: anything this code is not certain about (unknown fields,
// odd wire types, overlong varints, non-ASCII strings, truncation, invalid values) is handed to it, so
// the results are the generated code's by construction. Golden bytes and a fuzz test comparing both
// codecs (and protobufjs) pin it.
import { Frame } from "../gen/quire/v1/frame.js";

const EMPTY = Buffer.alloc(0);
const TWO_POW_32 = 2 ** 32;

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
  const { envelopeVersion, kind, payloadProtocol, payload, requestId, payloadEncoding, deadlineUnixMs, traceparent, tracestate } = frame;
  if (!isUint32(envelopeVersion) || !isInt32(kind) || !isUint32(payloadProtocol) || !isInt32(payloadEncoding) || !isUint64(requestId) || !isUint64(deadlineUnixMs)) {
    return withHeader(Frame.encode(frame).finish(), headerBytes); // throws the generated code's error
  }
  const traceparentBytes = traceparent === "" ? 0 : Buffer.byteLength(traceparent);
  const tracestateBytes = tracestate === "" ? 0 : Buffer.byteLength(tracestate);
  let size = 0;
  if (envelopeVersion !== 0) size += 1 + varint32Size(envelopeVersion);
  if (kind !== 0) size += 1 + (kind < 0 ? 10 : varint32Size(kind));
  if (payloadProtocol !== 0) size += 1 + varint32Size(payloadProtocol);
  if (payload.length !== 0) size += 1 + varint32Size(payload.length) + payload.length;
  if (requestId !== 0n) size += 1 + varint64Size(requestId);
  if (payloadEncoding !== 0) size += 1 + (payloadEncoding < 0 ? 10 : varint32Size(payloadEncoding));
  if (deadlineUnixMs !== 0n) size += 1 + varint64Size(deadlineUnixMs);
  if (traceparentBytes !== 0) size += 1 + varint32Size(traceparentBytes) + traceparentBytes;
  if (tracestateBytes !== 0) size += 1 + varint32Size(tracestateBytes) + tracestateBytes;

  const out = Buffer.allocUnsafe(headerBytes + size);
  let pos = headerBytes;
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
    out.set(payload, pos);
    pos += payload.length;
  }
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
  if (traceparentBytes !== 0) {
    out[pos++] = TAG_TRACEPARENT;
    pos = writeVarint32(out, pos, traceparentBytes);
    pos += out.write(traceparent, pos, "utf8");
  }
  if (tracestateBytes !== 0) {
    out[pos++] = TAG_TRACESTATE;
    pos = writeVarint32(out, pos, tracestateBytes);
    out.write(tracestate, pos, "utf8");
  }
  return out;
}

/** Decodes a Frame body; throws (the generated decoder's error) on malformed input. */
export function decodeFrameBody(body: Buffer): Frame {
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
  const end = body.length;
  let pos = 0;
  while (pos < end) {
    const tag = body[pos++]!;
    if (tag === TAG_PAYLOAD || tag === TAG_TRACEPARENT || tag === TAG_TRACESTATE) {
      const len = readSmallVarint(body, pos);
      if (len < 0) return Frame.decode(body);
      pos += varintSize(len);
      if (pos + len > end) return Frame.decode(body);
      if (tag === TAG_PAYLOAD) frame.payload = Buffer.from(body.subarray(pos, pos + len));
      else {
        for (let i = pos; i < pos + len; i++) if (body[i]! > 0x7f) return Frame.decode(body);
        const text = body.toString("latin1", pos, pos + len);
        if (tag === TAG_TRACEPARENT) frame.traceparent = text;
        else frame.tracestate = text;
      }
      pos += len;
      continue;
    }
    if (tag === TAG_REQUEST_ID || tag === TAG_DEADLINE) {
      const value = readSmallVarint(body, pos);
      if (value < 0) return Frame.decode(body);
      pos += varintSize(value);
      if (tag === TAG_REQUEST_ID) frame.requestId = BigInt(value);
      else frame.deadlineUnixMs = BigInt(value);
      continue;
    }
    if (tag === TAG_ENVELOPE || tag === TAG_KIND || tag === TAG_LANE || tag === TAG_ENCODING) {
      const value = readSmallVarint(body, pos);
      if (value < 0 || value >= TWO_POW_32) return Frame.decode(body);
      pos += varintSize(value);
      if (tag === TAG_ENVELOPE) frame.envelopeVersion = value;
      else if (tag === TAG_LANE) frame.payloadProtocol = value;
      else if (tag === TAG_KIND) frame.kind = value | 0;
      else frame.payloadEncoding = value | 0;
      continue;
    }
    return Frame.decode(body); // unknown field, another wire type, or tag 0: the reference decides
  }
  return frame;
}

/**
 * A varint of at most 7 bytes (values below 2^49, exact as a number) in its minimal encoding; -1 for
 * anything else (longer, overlong, or running past the end), which the caller hands to the reference.
 */
function readSmallVarint(buf: Buffer, pos: number): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const b = buf[pos + i];
    if (b === undefined) return -1;
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
  return typeof v === "bigint" && BigInt.asUintN(64, v) === v;
}
