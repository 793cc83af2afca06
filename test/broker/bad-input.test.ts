// Malformed input closes that one connection, with a reason; the broker and its other clients go on.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect } from "../../src/client/connect.js";
import type { Connection } from "../../src/client/connection.js";
import { HelloReply, Refused_Code } from "../../src/gen/quire/v1/hello.js";
import { encodeFramed, newFrame } from "../../src/wire/framing.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { helloFrame, RawPeer } from "../helpers/raw-peer.js";

let daemon: TestDaemon;
let bystander: Connection;
before(async () => {
  daemon = await startTestDaemon(["--hello-timeout-ms", "300", "--hello-rate", "5", "--hello-burst", "5"]);
  bystander = await connect("echo", { home: daemon.home, autostart: false });
});
after(async () => {
  bystander.close();
  await daemon.stop();
});

/** The bystander, connected before any of this, still gets answers. */
async function othersStillServed(): Promise<void> {
  assert.equal((await bystander.request(Lane.ECHO, Buffer.from("still here"), { timeoutMs: 5_000 })).toString(), "still here");
}

/** Sends bytes, expects an UNSPECIFIED Refused naming `errorCode`, then the close. */
async function expectClosedWithReason(bytes: Buffer, errorCode: string, end = false): Promise<void> {
  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(bytes);
  if (end) peer.socket.end();
  const frame = await peer.next();
  const refused = HelloReply.decode(frame!.payload).refused;
  assert.equal(refused?.details.error, errorCode, refused?.reason);
  await peer.closed;
  await othersStillServed();
}

test("garbage bytes", () => expectClosedWithReason(Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), "QUIRE_ERR_FRAMING_VERSION"));

test("a wrong framing version", () => {
  const bytes = helloFrame({});
  bytes[0] = 2;
  return expectClosedWithReason(bytes, "QUIRE_ERR_FRAMING_VERSION");
});

test("a length over the limit", () => {
  const header = Buffer.from([1, 0, 0, 0, 0]);
  header.writeUInt32LE(0xffffffff, 1);
  return expectClosedWithReason(header, "QUIRE_ERR_FRAME_TOO_LARGE");
});

test("an oversized first frame", () =>
  expectClosedWithReason(
    encodeFramed(newFrame({ payloadProtocol: Lane.CONTROL, payload: Buffer.alloc(64 * 1024) })),
    "QUIRE_ERR_FRAME_TOO_LARGE",
  ));

test("a body that is not a Frame", () =>
  expectClosedWithReason(Buffer.from([1, 3, 0, 0, 0, 0xff, 0xff, 0xff]), "QUIRE_ERR_FRAME_MALFORMED"));

test("a Frame on an unknown lane", () =>
  expectClosedWithReason(encodeFramed(newFrame({ payloadProtocol: 0x4242 })), "QUIRE_ERR_UNKNOWN_LANE"));

test("a truncated frame, then silence: dropped at the first-frame deadline", async () => {
  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(helloFrame({}).subarray(0, 20));
  const refused = HelloReply.decode((await peer.next())!.payload).refused;
  assert.match(refused!.reason, /no Hello within 300 ms/);
  await peer.closed;
  await othersStillServed();
});

test("a silent client is dropped at the first-frame deadline", async () => {
  const peer = await RawPeer.connect(daemon.places.socket);
  const refused = (await peer.nextReply())?.refused;
  assert.match(refused!.reason, /no Hello within 300 ms/, "dropped by the deadline, not for anything else");
  await peer.closed;
  await othersStillServed();
});

test("a Hello flood from one peer is rate limited; another peer is not", async () => {
  const flooder = 999_999;
  const replies = await Promise.all(
    Array.from({ length: 20 }, async () => {
      const peer = await RawPeer.connect(daemon.places.socket);
      peer.write(helloFrame({ peerPid: flooder, clientCapabilities: 0n }));
      const reply = await peer.nextReply();
      peer.close();
      return reply;
    }),
  );
  const limited = replies.filter((r) => r?.refused?.code === Refused_Code.RATE_LIMITED);
  assert.ok(limited.length >= 10, `${limited.length} of 20 rate limited`);
  assert.ok(
    limited.every((r) => r!.refused!.retryAfterMs > 0n),
    "every RATE_LIMITED says when to retry",
  );
  const other = await RawPeer.connect(daemon.places.socket);
  other.write(helloFrame({ peerPid: 12345, clientCapabilities: 0n }));
  assert.ok((await other.nextReply())?.negotiated);
  other.close();
  await othersStillServed();
});

test("a malformed frame after the handoff closes that client with a reason; others go on", async () => {
  const victim = await connect("echo", { home: daemon.home, autostart: false });
  const closed = new Promise<Error>((resolve) => victim.once("close", resolve));
  victim.send(newFrame({ payloadProtocol: 0x4242 }));
  assert.match((await closed).message, /not a lane this peer serves/);
  await othersStillServed();
});

test("the broker is still alive and healthy after all of it", async () => {
  assert.equal(daemon.process.exitCode, null);
  await othersStillServed();
});
