// Pooled frame bodies (FrameDecoder's bodyPool): large bodies are read into buffers that come back with
// release() and are reused; a frame released twice frees nothing the second time; small frames, and
// decoders without a pool, never see pooled memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Frame, Frame_Kind } from "../../src/gen/quire/v1/frame.js";
import { BodyPool } from "../../src/wire/body-pool.js";
import { WireError } from "../../src/wire/errors.js";
import { encodeFramed, FrameDecoder, newFrame } from "../../src/wire/framing.js";
import { Lane } from "../../src/wire/lanes.js";

const framed = (fill: number, size = 64 * 1024) =>
  encodeFramed(
    newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.ECHO, requestId: BigInt(fill), payload: Buffer.alloc(size, fill) }),
  );

const decoderWith = (bodyPool: BodyPool | undefined) => new FrameDecoder({ bodyPool, maxFirstBodyBytes: 1 << 20 });

/** Feeds `bytes` the way a socket reading into the decoder does (readBuffer/wrote), in reads of at most `step`. */
function readInto(decoder: FrameDecoder, bytes: Buffer, step = 64 * 1024): Frame[] {
  const frames: Frame[] = [];
  for (let at = 0; at < bytes.length; ) {
    const into = decoder.readBuffer();
    const n = Math.min(into.length, step, bytes.length - at);
    bytes.copy(into, 0, at, at + n);
    decoder.wrote(n);
    at += n;
    for (let f = decoder.next(); f !== undefined; f = decoder.next()) {
      assert.ok(!(f instanceof WireError), String(f));
      frames.push(f as Frame);
    }
  }
  return frames;
}

/** Feeds `bytes` as 'data' chunks of `step` bytes (push), so bodies span chunks and are gathered. */
function pushed(decoder: FrameDecoder, bytes: Buffer, step: number): Frame[] {
  const frames: Frame[] = [];
  for (let at = 0; at < bytes.length; at += step) {
    decoder.push(Buffer.from(bytes.subarray(at, at + step)));
    for (let f = decoder.next(); f !== undefined; f = decoder.next()) {
      assert.ok(!(f instanceof WireError), String(f));
      frames.push(f as Frame);
    }
  }
  return frames;
}

for (const [mode, feed] of [
  ["read into the decoder", (d: FrameDecoder, b: Buffer) => readInto(d, b)],
  ["pushed in chunks", (d: FrameDecoder, b: Buffer) => pushed(d, b, 10_000)],
] as const) {
  test(`${mode}: a released body is reused for the next large frame, which reads its own bytes`, () => {
    const pool = new BodyPool();
    const decoder = decoderWith(pool);
    const [a] = feed(decoder, framed(1));
    assert.ok(a!.payload.every((b) => b === 1));
    const memory = a!.payload.buffer;
    decoder.release(a!);
    assert.equal(pool.freeBytes, 128 * 1024, "a 64 KiB payload's body is in the 128 KiB size class");
    const [b] = feed(decoder, framed(2));
    assert.equal(b!.payload.buffer, memory, "the second body is read into the first one's buffer");
    assert.equal(pool.freeBytes, 0);
    assert.ok(b!.payload.every((x) => x === 2));
  });

  test(`${mode}: releasing a frame twice frees nothing the second time`, () => {
    const pool = new BodyPool();
    const decoder = decoderWith(pool);
    const [a] = feed(decoder, framed(1));
    decoder.release(a!);
    const [b] = feed(decoder, framed(2));
    decoder.release(a!);
    assert.equal(pool.freeBytes, 0, "b's buffer stays b's");
    const [c] = feed(decoder, framed(3));
    assert.notEqual(c!.payload.buffer, b!.payload.buffer);
    assert.ok(b!.payload.every((x) => x === 2));
  });
}

test("small frames and decoders without a pool never get pooled buffers", () => {
  const pool = new BodyPool();
  const decoder = decoderWith(pool);
  const [small] = readInto(decoder, framed(5, 1_000));
  decoder.release(small!);
  assert.equal(pool.freeBytes, 0);
  const plain = decoderWith(undefined);
  const [big] = readInto(plain, framed(6));
  plain.release(big!);
  assert.ok(
    big!.payload.every((x) => x === 6),
    "release on a decoder without a pool touches nothing",
  );
});

test("a poisoning pool overwrites what it is given back, and keeps no more than its bound", () => {
  const pool = new BodyPool({ poison: 0xee, perClass: 1 });
  const decoder = decoderWith(pool);
  const frames = readInto(decoder, Buffer.concat([framed(1), framed(2)]));
  decoder.release(frames[0]!);
  decoder.release(frames[1]!);
  assert.ok(frames[0]!.payload.every((x) => x === 0xee));
  assert.equal(pool.freeBytes, 128 * 1024, "one kept per size class");
});
