import assert from "node:assert/strict";
import { test } from "node:test";
import { Frame_Kind, FrameDecoder, Lane, encodeFramed, newFrame, type Frame } from "../../src/wire/index.js";
import { FrameWriter, type ByteSink } from "../../src/wire/frame-writer.js";

/** A sink that records what it was given; `full` makes write() report a backed-up sink. */
class RecordingSink implements ByteSink {
  writable = true;
  full = false;
  corked = 0;
  /** One entry per write the sink would make: corked pieces count as one, as a socket's writev. */
  writes: Buffer[][] = [];
  #batch: Buffer[] | undefined;

  write(chunk: Uint8Array): boolean {
    const piece = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.#batch) this.#batch.push(piece);
    else this.writes.push([piece]);
    return !this.full;
  }

  cork(): void {
    this.corked++;
    this.#batch = [];
  }

  uncork(): void {
    this.writes.push(this.#batch!);
    this.#batch = undefined;
  }

  bytes(): Buffer {
    return Buffer.concat(this.writes.flat());
  }
}

const tick = () => new Promise<void>((resolve) => process.nextTick(resolve));

const frames: Frame[] = [
  newFrame({ payloadProtocol: Lane.ECHO, requestId: 1n, payload: Buffer.from("small") }),
  newFrame({
    kind: Frame_Kind.RESPONSE,
    payloadProtocol: Lane.ECHO,
    requestId: 2n ** 64n - 1n,
    payload: Buffer.alloc(70_000, 7),
    deadlineUnixMs: 1700000000000n,
  }),
  newFrame({ kind: Frame_Kind.EVENT, payloadProtocol: Lane.PTY, requestId: 3n, traceparent: "00-abc-01", tracestate: "caf\u00e9" }),
  newFrame({ payloadProtocol: Lane.CI, payload: Buffer.alloc(16 * 1024, 1), payloadEncoding: -1 }),
  newFrame({ envelopeVersion: 0, kind: -5 as Frame_Kind }),
];

test("the bytes written are encodeFramed's, in order, whatever the payload sizes", async () => {
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink);
  for (const frame of frames) writer.write(frame);
  await tick();
  assert.deepEqual(sink.bytes(), Buffer.concat(frames.map(encodeFramed)));
  assert.equal(writer.pending, 0);
});

test("frames written in one tick leave in one write", async () => {
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink);
  const sent = Array.from({ length: 100 }, (_, i) =>
    newFrame({ payloadProtocol: Lane.ECHO, requestId: BigInt(i), payload: Buffer.alloc(64, i) }),
  );
  for (const frame of sent) writer.write(frame);
  assert.equal(sink.writes.length, 0, "nothing is written before the end of the tick");
  assert.equal(writer.pending, Buffer.concat(sent.map(encodeFramed)).length);
  await tick();
  assert.equal(sink.writes.length, 1);
  assert.equal(sink.writes[0]!.length, 1, "one contiguous buffer");
  const decoder = new FrameDecoder();
  decoder.push(sink.bytes());
  for (let i = 0; i < 100; i++) assert.equal((decoder.next() as Frame).requestId, BigInt(i));
});

test("a large payload is written from the caller's buffer, between its frame's head and tail", async () => {
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink);
  const payload = Buffer.alloc(32 * 1024, 9);
  const frame = newFrame({ payloadProtocol: Lane.ECHO, requestId: 5n, payload });
  writer.write(frame);
  await tick();
  assert.equal(sink.writes.length, 1, "one writev");
  const pieces = sink.writes[0]!;
  assert.equal(pieces.length, 3);
  assert.equal(pieces[1]!.buffer, payload.buffer, "not copied");
  assert.deepEqual(Buffer.concat(pieces), encodeFramed(frame));
});

test("much queued in one tick is written at once, not held to the end of the tick", () => {
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink);
  for (let i = 0; i < 2_000; i++) writer.write(newFrame({ payloadProtocol: Lane.ECHO, requestId: BigInt(i), payload: Buffer.alloc(100) }));
  assert.ok(sink.writes.length >= 2, "written while the tick runs");
  assert.ok(writer.pending < 64 * 1024);
});

test("a sink that reports it is backed up is told to the owner", async () => {
  const sink = new RecordingSink();
  let full = 0;
  const writer = new FrameWriter(sink, { onFull: () => full++ });
  writer.write(frames[0]!);
  await tick();
  assert.equal(full, 0);
  sink.full = true;
  writer.write(frames[0]!);
  await tick();
  assert.equal(full, 1);
});

test("nothing is written to a sink that no longer takes bytes", async () => {
  const sink = new RecordingSink();
  const writer = new FrameWriter(sink);
  writer.write(frames[0]!);
  sink.writable = false;
  await tick();
  assert.equal(sink.writes.length, 0);
  assert.equal(writer.pending, 0);
});

test("a body over 16 MiB is refused when written, before anything is queued", () => {
  const writer = new FrameWriter(new RecordingSink());
  assert.throws(() => writer.write(newFrame({ payload: Buffer.alloc(16 * 1024 * 1024 + 1) })), { code: "QUIRE_ERR_FRAME_TOO_LARGE" });
  assert.equal(writer.pending, 0);
});
