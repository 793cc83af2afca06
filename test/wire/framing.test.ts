import assert from "node:assert/strict";
import { test } from "node:test";
import { Random } from "../helpers/random.js";
import {
  encodeFramed,
  Frame,
  FrameDecoder,
  Frame_Kind,
  Frame_PayloadEncoding,
  frameBody,
  Lane,
  MAX_FIRST_FRAME_BODY_BYTES,
  newFrame,
  WireError,
} from "../../src/wire/index.js";

function sample(i: number, size = 16): Frame {
  return newFrame({
    kind: Frame_Kind.REQUEST,
    payloadProtocol: Lane.ECHO,
    requestId: BigInt(i),
    payload: Buffer.alloc(size, i & 0xff),
  });
}

/** Pushes the given chunks and collects everything the decoder yields. */
function decodeAll(chunks: Uint8Array[], decoder = new FrameDecoder()): { frames: Frame[]; error?: WireError } {
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let item = decoder.next(); item; item = decoder.next()) {
      if (item instanceof WireError) return { frames, error: item };
      frames.push(item);
    }
  }
  return { frames };
}

function errorCode(bytes: Buffer, decoder = new FrameDecoder()): string | undefined {
  return decodeAll([bytes], decoder).error?.code;
}

test("several frames in one chunk all come out, in order", () => {
  const frames = [sample(1), sample(2, 0), sample(3, 1000)];
  const { frames: out, error } = decodeAll([Buffer.concat(frames.map(encodeFramed))]);
  assert.equal(error, undefined);
  assert.deepEqual(out, frames);
});

test("input split at every byte offset decodes the same", () => {
  const frames = [sample(1), sample(2, 300), sample(3, 0)];
  const bytes = Buffer.concat(frames.map(encodeFramed));
  for (let cut = 0; cut <= bytes.length; cut++) {
    const { frames: out, error } = decodeAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
    assert.equal(error, undefined, `cut at ${cut}`);
    assert.deepEqual(out, frames, `cut at ${cut}`);
  }
});

test("input fed one byte at a time decodes the same", () => {
  const frames = [sample(7, 40), sample(8, 3)];
  const bytes = Buffer.concat(frames.map(encodeFramed));
  const chunks = [...bytes].map((b) => Buffer.of(b));
  assert.deepEqual(decodeAll(chunks).frames, frames);
});

test("partial input waits for more bytes", () => {
  const bytes = encodeFramed(sample(1, 100));
  const decoder = new FrameDecoder();
  decoder.push(bytes.subarray(0, 3));
  assert.equal(decoder.next(), undefined);
  decoder.push(bytes.subarray(3, 50));
  assert.equal(decoder.next(), undefined);
  assert.equal(decoder.buffered, 45);
  decoder.push(bytes.subarray(50));
  assert.deepEqual(decoder.next(), sample(1, 100));
});

test("a zero-length body is legal framing (its envelope then fails validation)", () => {
  const empty = Buffer.from([1, 0, 0, 0, 0]);
  assert.deepEqual(decodeAll([empty], new FrameDecoder({ validate: false })).frames, [Frame.fromPartial({})]);
  assert.equal(errorCode(empty), "QUIRE_ERR_ENVELOPE_VERSION");
});

test("a wrong framing version is refused", () => {
  const bytes = encodeFramed(sample(1));
  bytes[0] = 2;
  assert.equal(errorCode(bytes), "QUIRE_ERR_FRAMING_VERSION");
});

test("a length over the limit is refused from the header alone", () => {
  const header = Buffer.from([1, 0, 0, 0, 0]);
  header.writeUInt32LE(16 * 1024 * 1024 + 1, 1);
  const decoder = new FrameDecoder();
  decodeAll([encodeFramed(sample(1))], decoder);
  assert.equal(errorCode(header, decoder), "QUIRE_ERR_FRAME_TOO_LARGE");
  assert.equal(decoder.buffered, 0, "nothing is held for the oversized body");
});

test("the first frame is held to 64 KiB, later frames to 16 MiB", () => {
  const big = encodeFramed(sample(1, MAX_FIRST_FRAME_BODY_BYTES));
  assert.equal(errorCode(big), "QUIRE_ERR_FRAME_TOO_LARGE");
  const decoder = new FrameDecoder();
  const { frames, error } = decodeAll([encodeFramed(sample(0)), big], decoder);
  assert.equal(error, undefined);
  assert.equal(frames.length, 2);
});

test("a stream that ends inside a frame reports truncation", () => {
  const bytes = encodeFramed(sample(1, 64));
  for (const cut of [1, 4, 5, 30]) {
    const decoder = new FrameDecoder();
    decodeAll([bytes.subarray(0, cut)], decoder);
    assert.equal(decoder.end()?.code, "QUIRE_ERR_FRAME_TRUNCATED", `cut at ${cut}`);
  }
  const whole = new FrameDecoder();
  decodeAll([bytes], whole);
  assert.equal(whole.end(), undefined);
});

test("a body that is not a protobuf Frame is malformed", () => {
  assert.equal(errorCode(frameBody(Buffer.from([0xff, 0xff, 0xff]))), "QUIRE_ERR_FRAME_MALFORMED");
});

test("the envelope is validated in order: version, kind, lane, encoding", () => {
  const bad = (fields: Partial<Frame>) => errorCode(encodeFramed(newFrame({ payloadProtocol: Lane.ECHO, ...fields })));
  assert.equal(bad({ envelopeVersion: 2, kind: 9 as Frame_Kind, payloadProtocol: 0x1234 }), "QUIRE_ERR_ENVELOPE_VERSION");
  assert.equal(
    bad({ kind: 9 as Frame_Kind, payloadProtocol: 0x1234, payloadEncoding: 5 as Frame_PayloadEncoding }),
    "QUIRE_ERR_FRAME_KIND",
  );
  assert.equal(bad({ payloadProtocol: 0x1234, payloadEncoding: 5 as Frame_PayloadEncoding }), "QUIRE_ERR_UNKNOWN_LANE");
  assert.equal(bad({ payloadEncoding: Frame_PayloadEncoding.ZSTD }), "QUIRE_ERR_PAYLOAD_ENCODING");
  assert.equal(bad({}), undefined);
});

test("after an error every later call returns the same error", () => {
  const decoder = new FrameDecoder();
  const first = decodeAll([Buffer.from([9, 9, 9, 9, 9, 9])], decoder).error;
  decoder.push(encodeFramed(sample(1)));
  assert.equal(decoder.next(), first);
  assert.equal(decoder.end(), first);
});

test("takeRemainder returns the undecoded bytes exactly, a started frame included", () => {
  const a = encodeFramed(sample(1));
  const b = encodeFramed(sample(2, 50));
  const c = encodeFramed(sample(3));
  for (const cut of [0, 3, 5, 20]) {
    const decoder = new FrameDecoder();
    decoder.push(Buffer.concat([a, b.subarray(0, cut)]));
    assert.deepEqual(decoder.next(), sample(1));
    assert.equal(decoder.next(), undefined);
    const rest = decoder.takeRemainder();
    assert.equal(rest.toString("hex"), b.subarray(0, cut).toString("hex"), `cut at ${cut}`);
    assert.equal(decoder.buffered, 0);
    // The remainder, completed, decodes elsewhere as if nothing happened.
    assert.deepEqual(decodeAll([rest, b.subarray(cut), c], new FrameDecoder()).frames, [sample(2, 50), sample(3)]);
  }
});

test("payloads are views of the received chunk; detachSmallPayloads copies those under half of it", () => {
  const small = encodeFramed(sample(1, 64));
  const large = encodeFramed(sample(2, 6000));
  const chunk = Buffer.concat([small, large]);
  const views = decodeAll([chunk]).frames;
  assert.deepEqual(views, [sample(1, 64), sample(2, 6000)]);
  assert.ok(
    views.every((f) => f.payload.buffer === chunk.buffer),
    "no copies",
  );

  const detached = decodeAll([Buffer.concat([small, large])], new FrameDecoder({ detachSmallPayloads: true })).frames;
  assert.deepEqual(detached, [sample(1, 64), sample(2, 6000)]);
  assert.notEqual(detached[0]!.payload.buffer, chunk.buffer, "the small payload does not keep the chunk alive");
  const within = detached[1]!.payload;
  assert.ok(within.byteLength * 2 >= within.buffer.byteLength, "the large one stays a view: it is most of its chunk");
});

test("a frame spread over chunks is gathered into a body of its own", () => {
  const bytes = encodeFramed(sample(3, 100_000));
  const { frames } = decodeAll([bytes.subarray(0, 65536), bytes.subarray(65536)], new FrameDecoder({ maxFirstBodyBytes: 200_000 }));
  assert.deepEqual(frames, [sample(3, 100_000)]);
  assert.ok(frames[0]!.payload.buffer.byteLength < 100_100, "its payload pins no read chunk");
});

/** Feeds `stream` as a socket reading into the decoder would (readBuffer, then wrote), `sizes` bytes at most per read. */
function readAll(stream: Buffer, decoder: FrameDecoder, sizes: () => number): { frames: Frame[]; reads: number } {
  const frames: Frame[] = [];
  let at = 0;
  let reads = 0;
  while (at < stream.length) {
    const target = decoder.readBuffer();
    assert.ok(target.length > 0, "a read buffer always has room");
    const n = Math.min(target.length, sizes(), stream.length - at);
    stream.copy(target, 0, at, at + n);
    at += n;
    reads++;
    decoder.wrote(n);
    for (let item = decoder.next(); item; item = decoder.next()) {
      assert.ok(!(item instanceof WireError), String(item));
      frames.push(item as Frame);
    }
  }
  return { frames, reads };
}

test("reading into the decoder (readBuffer/wrote) yields the same frames as push, whatever the read sizes", () => {
  const random = new Random(0x51ab);
  for (let round = 0; round < 40; round++) {
    const frames = Array.from({ length: 30 }, (_, i) => sample(i, random.pick([0, 1, 64, 1000, 40_000, 70_000, 200_000]) + random.int(50)));
    const stream = Buffer.concat(frames.map(encodeFramed));
    const maxRead = random.pick([1, 7, 300, 4096, 65_536, 1 << 20]);
    const decoder = new FrameDecoder({ maxFirstBodyBytes: 1 << 20 });
    const { frames: got } = readAll(stream, decoder, () => 1 + random.int(maxRead));
    assert.deepEqual(got, frames, `round ${round}, reads of up to ${maxRead} bytes`);
    assert.equal(decoder.buffered, 0);
    assert.equal(decoder.end(), undefined);
  }
});

test("a large body is read into a buffer of its own: no copy of it, and two reads a frame once they flow", () => {
  const payload = 64 * 1024;
  const frames = Array.from({ length: 20 }, (_, i) => sample(i, payload));
  const stream = Buffer.concat(frames.map(encodeFramed));
  const decoder = new FrameDecoder({ maxFirstBodyBytes: 1 << 20 });
  const { frames: got, reads } = readAll(stream, decoder, () => 1 << 20);
  assert.deepEqual(got, frames);
  // One read for the head (and little more), one for the rest of the body: the socket would give more.
  assert.ok(reads <= 2 * frames.length + 1, `${reads} reads for ${frames.length} frames`);
  for (const f of got.slice(1)) {
    assert.equal(f.payload.buffer.byteLength, encodeFramed(f).length - 5, "the payload is a view of its own body buffer");
  }
});

test("small frames read into the decoder do not each keep its shared read buffer alive", () => {
  const frames = Array.from({ length: 200 }, (_, i) => sample(i, 64));
  const decoder = new FrameDecoder();
  const shared = decoder.readBuffer().buffer;
  const { frames: got } = readAll(Buffer.concat(frames.map(encodeFramed)), decoder, () => 1000);
  assert.deepEqual(got, frames);
  for (const f of got) assert.notEqual(f.payload.buffer, shared, "a small payload is copied out of the shared read buffer");
  assert.ok(shared.byteLength <= 16 * 1024, "every connection keeps one: it is small");
});

test("bytes pushed first (a handoff's forwarded bytes), then reads into the decoder: nothing lost or reordered", () => {
  const frames = [sample(1, 10), sample(2, 100_000), sample(3, 5), sample(4, 50_000)];
  const stream = Buffer.concat(frames.map(encodeFramed));
  for (const cut of [3, 20, 40_000, 100_020, stream.length - 7]) {
    const decoder = new FrameDecoder({ maxFirstBodyBytes: 1 << 20 });
    decoder.push(stream.subarray(0, cut));
    const early: Frame[] = [];
    for (let item = decoder.next(); item; item = decoder.next()) early.push(item as Frame);
    const { frames: late } = readAll(stream.subarray(cut), decoder, () => 9000);
    assert.deepEqual([...early, ...late], frames, `cut at ${cut}`);
  }
});

test("takeRemainder gives back a large body read halfway into its own buffer, with its header", () => {
  const big = encodeFramed(sample(7, 90_000));
  const next = encodeFramed(sample(8, 3));
  const decoder = new FrameDecoder({ maxFirstBodyBytes: 1 << 20 });
  readAll(big.subarray(0, 50_000), decoder, () => 20_000);
  // The same bytes pushed after the body buffer exists land in it, the rest after it.
  decoder.push(big.subarray(50_000, 60_000));
  const rest = decoder.takeRemainder();
  assert.ok(rest.equals(big.subarray(0, 60_000)));
  assert.deepEqual(decodeAll([rest, big.subarray(60_000), next], new FrameDecoder({ maxFirstBodyBytes: 1 << 20 })).frames, [
    sample(7, 90_000),
    sample(8, 3),
  ]);
});

test("a bad frame read into the decoder is the same typed error, and later reads change nothing", () => {
  const decoder = new FrameDecoder();
  const target = decoder.readBuffer();
  Buffer.from([9, 1, 0, 0, 0]).copy(target);
  decoder.wrote(5);
  const error = decoder.next();
  assert.ok(error instanceof WireError);
  assert.equal(error.code, "QUIRE_ERR_FRAMING_VERSION");
  decoder.readBuffer();
  decoder.wrote(100);
  assert.equal(decoder.next(), error);
});
