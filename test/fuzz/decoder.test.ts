// Random and mutated input to the frame decoder: it returns frames or one typed error, never throws.
// QUIRE_FUZZ_ITERATIONS (npm run fuzz) runs it longer; QUIRE_FUZZ_SEED replays a failure.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Frame, Frame_Kind, FrameDecoder, Hello, Lane, newFrame, encodeFramed, validateFrame, WireError } from "../../src/wire/index.js";
import { decodeFrameBody, encodeFrameBody } from "../../src/wire/frame-body.js";
import { reflectedType } from "../helpers/protobufjs.js";
import { fuzzIterations, fuzzSeed, Random } from "../helpers/random.js";

const ITERATIONS = fuzzIterations(20_000);
const SEED = fuzzSeed();

const valid = [
  encodeFramed(
    newFrame({
      payloadProtocol: Lane.CONTROL,
      payload: Buffer.from(Hello.encode(Hello.fromPartial({ serviceName: "echo", clientMaxProtocol: 1 })).finish()),
    }),
  ),
  encodeFramed(
    newFrame({
      kind: Frame_Kind.EVENT,
      payloadProtocol: Lane.ECHO,
      requestId: 2n ** 63n,
      payload: Buffer.alloc(40, 1),
      traceparent: "00-x",
    }),
  ),
];

/** Feeds `input` in random chunks, pushed or read into the decoder; checks the decoder's contract throughout. */
function feed(random: Random, input: Buffer): void {
  const decoder = new FrameDecoder({ maxFirstBodyBytes: 1 + random.int(70_000) });
  const reads = random.next() < 0.5;
  let error: WireError | undefined;
  for (let at = 0; at < input.length; ) {
    let size = 1 + random.int(Math.min(64, input.length - at));
    if (reads) {
      const target = decoder.readBuffer();
      size = Math.min(size, target.length);
      input.copy(target, 0, at, at + size);
      decoder.wrote(size);
    } else decoder.push(input.subarray(at, at + size));
    at += size;
    for (let item = decoder.next(); item; item = decoder.next()) {
      if (item instanceof WireError) {
        assert.match(item.code, /^QUIRE_ERR_/);
        if (error) assert.equal(item, error, "the same error every time");
        error = item;
        break;
      }
      assert.equal(validateFrame(item), undefined, "only valid frames come out");
    }
  }
  const end = decoder.end();
  if (end) assert.match(end.code, /^QUIRE_ERR_/);
}

test(`random bytes never throw out of the decoder (seed ${SEED})`, () => {
  const random = new Random(SEED);
  for (let i = 0; i < ITERATIONS; i++) {
    const input = random.next() < 0.5 ? random.bytes(random.int(200)) : Buffer.concat([Buffer.of(1), random.bytes(random.int(200))]);
    feed(random, input);
  }
});

test(`mutated valid frames never throw out of the decoder (seed ${SEED})`, () => {
  const random = new Random(SEED + 1);
  for (let i = 0; i < ITERATIONS; i++) {
    const input = Buffer.concat(Array.from({ length: 1 + random.int(3) }, () => random.pick(valid)));
    feed(random, random.mutate(input));
  }
});

test(`random Frames: protobufjs reflection and the generated code agree both ways (seed ${SEED})`, () => {
  const random = new Random(SEED + 2);
  const reflected = reflectedType("Frame");
  for (let i = 0; i < Math.ceil(ITERATIONS / 10); i++) {
    const frame: Frame = {
      envelopeVersion: random.int(3),
      kind: random.int(4),
      payloadProtocol: random.int(2 ** 32),
      payload: random.bytes(random.int(64)),
      requestId: random.bigint64(),
      payloadEncoding: random.int(4),
      deadlineUnixMs: random.bigint64(),
      traceparent: random.bytes(random.int(20)).toString("base64"),
      tracestate: random.next() < 0.5 ? "" : "k=v",
    };
    const generated = Frame.encode(frame).finish();
    const viaReflection = reflected
      .encode(reflected.fromObject({ ...frame, requestId: frame.requestId.toString(), deadlineUnixMs: frame.deadlineUnixMs.toString() }))
      .finish();
    assert.deepEqual(Buffer.from(viaReflection), Buffer.from(generated), "same bytes from both encoders");
    assert.deepEqual(Frame.decode(viaReflection), frame);
    assert.deepEqual(Buffer.from(reflected.encode(reflected.decode(generated)).finish()), Buffer.from(generated));
  }
});

/** Both decoders on the same bytes: the same Frame, or both refuse. */
function sameAsGenerated(body: Buffer): void {
  let expected: Frame | Error;
  try {
    expected = Frame.decode(body);
  } catch (error) {
    expected = error as Error;
  }
  if (expected instanceof Error) {
    assert.throws(() => decodeFrameBody(body), `generated refused ${body.toString("hex")}`);
  } else {
    assert.deepEqual(decodeFrameBody(body), expected, body.toString("hex"));
  }
}

test(`the hand-written Frame codec agrees with the generated one on random and mutated bodies (seed ${SEED})`, () => {
  const random = new Random(SEED + 3);
  const bodies = valid.map((v) => v.subarray(5));
  for (let i = 0; i < ITERATIONS; i++) {
    sameAsGenerated(random.next() < 0.3 ? random.bytes(random.int(60)) : random.mutate(random.pick(bodies)));
  }
});

test(`the hand-written Frame encoder writes the generated encoder's bytes (seed ${SEED})`, () => {
  const random = new Random(SEED + 4);
  const strings = ["", "00-abc-01", "rp=1", "caf\u00e9", "\u{1f600}", "\ud800 lone"];
  const u64 = () => random.pick([0n, 1n, 127n, 128n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, random.bigint64()]);
  const u32 = () => random.pick([0, 1, 127, 128, 0xad01, 2 ** 31, 2 ** 32 - 1, random.int(2 ** 32)]);
  const i32 = () => random.pick([0, 1, 3, -1, -(2 ** 31), 2 ** 31 - 1, random.int(200)]);
  for (let i = 0; i < Math.ceil(ITERATIONS / 4); i++) {
    const frame: Frame = {
      envelopeVersion: u32(),
      kind: i32(),
      payloadProtocol: u32(),
      payload: random.bytes(random.pick([0, 1, 127, 128, 300])),
      requestId: u64(),
      payloadEncoding: i32(),
      deadlineUnixMs: u64(),
      traceparent: random.pick(strings),
      tracestate: random.pick(strings),
    };
    const generated = Buffer.from(Frame.encode(frame).finish());
    assert.deepEqual(encodeFrameBody(frame, 0), generated);
    sameAsGenerated(generated);
  }
  // Values the generated encoder refuses are refused the same way.
  assert.throws(() => encodeFrameBody(newFrame({ requestId: 2n ** 64n }), 5), /too large/);
  assert.throws(() => encodeFrameBody(newFrame({ payloadProtocol: -1 }), 5), /invalid uint32/);
});
