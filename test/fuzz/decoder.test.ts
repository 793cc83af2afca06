// Random and mutated input to the frame decoder: it returns frames or one typed error, never throws.
// QUIRE_FUZZ_ITERATIONS (npm run fuzz) runs it longer; QUIRE_FUZZ_SEED replays a failure.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Frame, Frame_Kind, FrameDecoder, Hello, Lane, newFrame, encodeFramed, validateFrame, WireError } from "../../src/wire/index.js";
import { reflectedType } from "../helpers/protobufjs.js";
import { fuzzIterations, fuzzSeed, Random } from "../helpers/random.js";

const ITERATIONS = fuzzIterations(20_000);
const SEED = fuzzSeed();

const valid = [
  encodeFramed(newFrame({ payloadProtocol: Lane.CONTROL, payload: Buffer.from(Hello.encode(Hello.fromPartial({ serviceName: "echo", clientMaxProtocol: 1 })).finish()) })),
  encodeFramed(newFrame({ kind: Frame_Kind.EVENT, payloadProtocol: Lane.ECHO, requestId: 2n ** 63n, payload: Buffer.alloc(40, 1), traceparent: "00-x" })),
];

/** Feeds `input` in random chunks; checks the decoder's contract throughout. */
function feed(random: Random, input: Buffer): void {
  const decoder = new FrameDecoder({ maxFirstBodyBytes: 1 + random.int(70_000) });
  let error: WireError | undefined;
  for (let at = 0; at < input.length; ) {
    const size = 1 + random.int(Math.min(64, input.length - at));
    decoder.push(input.subarray(at, at + size));
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
    const viaReflection = reflected.encode(reflected.fromObject({ ...frame, requestId: frame.requestId.toString(), deadlineUnixMs: frame.deadlineUnixMs.toString() })).finish();
    assert.deepEqual(Buffer.from(viaReflection), Buffer.from(generated), "same bytes from both encoders");
    assert.deepEqual(Frame.decode(viaReflection), frame);
    assert.deepEqual(Buffer.from(reflected.encode(reflected.decode(generated)).finish()), Buffer.from(generated));
  }
});
