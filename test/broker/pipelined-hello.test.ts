// Requests pipelined behind the Hello (in the same write, or streamed right after it): the broker has
// read some of them already and forwards those with the descriptor; the rest travel in the socket. The
// backend answers every one, in order, exactly once, whatever the split; the limits after the Hello are
// the backend's (16 MiB a frame), not the broker's first-frame limit. Real daemon, bytes by hand.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Frame, Frame_Kind } from "../../src/gen/quire/v1/frame.js";
import { Refused } from "../../src/gen/quire/v1/hello.js";
import { Lane } from "../../src/wire/lanes.js";
import { FRAMING_VERSION, MAX_FRAME_BODY_BYTES } from "../../src/wire/protocol.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { echoRequest, helloFrame, RawPeer } from "../helpers/raw-peer.js";

let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon()));
after(() => daemon.stop());

/** Request i: small ones and, every 50th, a 64 KiB one, each payload saying which request it is. */
const payloadOf = (i: number) => (i % 50 === 0 ? Buffer.alloc(64 * 1024, i % 251) : Buffer.from(`request ${i}`));

/**
 * Negotiated, then the ready event: the order a handed-off client sees before any answer. The first
 * Hello starts the backend, which takes seconds on a loaded machine: hence the long wait.
 */
async function handedOff(peer: RawPeer): Promise<void> {
  assert.ok((await peer.nextReply(30_000))?.negotiated, "Negotiated first");
  assert.equal((await peer.next(20_000))?.payloadProtocol, Lane.HANDOFF, "then the ready event");
}

async function answers(peer: RawPeer, count: number): Promise<Frame[]> {
  const out: Frame[] = [];
  while (out.length < count) {
    const frame = await peer.next(20_000);
    assert.ok(frame, `the connection closed after ${out.length} of ${count} answers`);
    out.push(frame);
  }
  return out;
}

function assertAllOnce(got: Frame[], count: number): void {
  assert.equal(got.length, count);
  for (const [i, frame] of got.entries()) {
    assert.equal(frame.kind, Frame_Kind.RESPONSE);
    assert.equal(frame.requestId, BigInt(i + 1), "in order, none lost, none twice");
    assert.ok(Buffer.from(frame.payload).equals(payloadOf(i + 1)), `payload of request ${i + 1}`);
  }
}

test("a flood in the Hello's own write is answered in order, exactly once", async () => {
  const count = 2_000;
  const requests = Array.from({ length: count }, (_, i) => echoRequest(BigInt(i + 1), payloadOf(i + 1)));
  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(Buffer.concat([helloFrame({ clientCapabilities: 1n }), ...requests]));
  await handedOff(peer);
  assertAllOnce(await answers(peer, count), count);
  peer.close();
});

test("a flood streamed right behind the Hello, before Negotiated, is answered in order, exactly once", async () => {
  const count = 2_000;
  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(helloFrame({ clientCapabilities: 1n }));
  // Writes of a few requests each, split mid-frame, while the broker reads the Hello and lets go.
  const stream = Buffer.concat(Array.from({ length: count }, (_, i) => echoRequest(BigInt(i + 1), payloadOf(i + 1))));
  for (let at = 0; at < stream.length; at += 4_093) peer.write(stream.subarray(at, at + 4_093));
  await handedOff(peer);
  assertAllOnce(await answers(peer, count), count);
  peer.close();
});

test("a request split after the Hello (its header alone, then a part of its body) is answered once it is whole", async () => {
  for (const cut of [1, 5, 9]) {
    const request = echoRequest(1n, payloadOf(1));
    const peer = await RawPeer.connect(daemon.places.socket);
    peer.write(Buffer.concat([helloFrame({ clientCapabilities: 1n }), request.subarray(0, cut)]));
    await handedOff(peer);
    peer.write(request.subarray(cut));
    assertAllOnce(await answers(peer, 1), 1);
    peer.close();
  }
});

test("behind the Hello the backend's frame limit holds: a frame past 16 MiB is refused with FRAME_TOO_LARGE", async () => {
  const header = Buffer.alloc(5);
  header[0] = FRAMING_VERSION;
  header.writeUInt32LE(MAX_FRAME_BODY_BYTES + 1, 1);
  const peer = await RawPeer.connect(daemon.places.socket);
  // A 64 KiB frame is past the broker's first-frame limit but fine behind the Hello.
  peer.write(Buffer.concat([helloFrame({ clientCapabilities: 1n }), echoRequest(1n, payloadOf(50)), header]));
  await handedOff(peer);
  const [echo] = await answers(peer, 1);
  assert.equal(echo!.requestId, 1n);
  const refusal = await peer.next();
  assert.equal(refusal?.payloadProtocol, Lane.CONTROL);
  assert.equal(Refused.decode(refusal!.payload).details.error, "QUIRE_ERR_FRAME_TOO_LARGE");
  await peer.closed;
});
