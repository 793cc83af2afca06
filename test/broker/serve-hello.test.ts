// The handshake (ARCHITECTURE.md, "A Hello, from the socket to the backend") against a real daemon, spoken byte by byte: handoff and reconnect.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { tokenLength } from "../../src/core/tokens.js";
import { Frame_Kind } from "../../src/gen/quire/v1/frame.js";
import { HandoffAck } from "../../src/gen/quire/v1/handoff.js";
import { HelloReply, Refused_Code } from "../../src/gen/quire/v1/hello.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { echoRequest, helloFrame, RawPeer } from "../helpers/raw-peer.js";

let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon()));
after(() => daemon.stop());

test("handoff: Negotiated with bit 0, then the ready event echoing the token, then echo on the same connection", async () => {
  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(helloFrame({ clientCapabilities: 1n }, 7n));
  const reply = await peer.next();
  assert.equal(reply?.kind, Frame_Kind.RESPONSE);
  assert.equal(reply?.requestId, 7n);
  const negotiated = HelloReply.decode(reply!.payload).negotiated!;
  assert.equal(negotiated.serverCapabilities & 1n, 1n);
  assert.equal(negotiated.handlePassedToken.length, tokenLength("echo"));
  assert.equal(negotiated.backendPipe, daemon.places.backendSocket("echo"));

  const ready = await peer.next();
  assert.equal(ready?.kind, Frame_Kind.EVENT);
  assert.equal(ready?.payloadProtocol, Lane.HANDOFF);
  const ack = HandoffAck.decode(ready!.payload);
  assert.equal(ack.accepted, true);
  assert.deepEqual(ack.token, negotiated.handlePassedToken);

  peer.write(echoRequest(11n, Buffer.from("after handoff")));
  const echo = await peer.next();
  assert.equal(echo?.kind, Frame_Kind.RESPONSE);
  assert.equal(echo?.requestId, 11n);
  assert.equal(echo?.payload.toString(), "after handoff");
  peer.close();
});

test("reconnect: without bit 0 the broker closes after Negotiated and the token opens the backend socket", async () => {
  const broker = await RawPeer.connect(daemon.places.socket);
  broker.write(helloFrame({ clientCapabilities: 0n }));
  const negotiated = (await broker.nextReply())!.negotiated!;
  assert.equal(negotiated.serverCapabilities & 1n, 0n);
  await broker.closed;

  const backend = await RawPeer.connect(negotiated.backendPipe);
  backend.write(helloFrame({ authToken: negotiated.handlePassedToken }));
  const reply = await backend.nextReply();
  assert.ok(reply?.negotiated, `expected Negotiated, got ${JSON.stringify(reply?.refused)}`);
  backend.write(echoRequest(3n, Buffer.from("via reconnect")));
  const echo = await backend.next();
  assert.equal(echo?.payload.toString(), "via reconnect");
  backend.close();
});

test("a request in the same write as the Hello is answered, after Negotiated and the ready event", async () => {
  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(
    Buffer.concat([
      helloFrame({ clientCapabilities: 1n }),
      echoRequest(5n, Buffer.from("same write")),
      echoRequest(6n, Buffer.from("and another")),
    ]),
  );
  assert.ok((await peer.nextReply())?.negotiated);
  assert.equal((await peer.next())?.payloadProtocol, Lane.HANDOFF);
  assert.equal((await peer.next())?.payload.toString(), "same write");
  assert.equal((await peer.next())?.payload.toString(), "and another");
  peer.close();
});

test("a thousand handoffs whose first request follows Negotiated at once lose nothing", async () => {
  const total = 1000;
  const concurrency = 4;
  let next = 0;
  let answered = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const peer = await RawPeer.connect(daemon.places.socket);
      peer.write(helloFrame({ clientCapabilities: 1n }));
      const reply = await peer.nextReply();
      assert.ok(reply?.negotiated, `handoff ${i}: ${reply?.refused?.reason}`);
      // Sent before the ready event arrives: these bytes may reach the broker before it lets go.
      const payload = Buffer.from(`request ${i}`);
      peer.write(echoRequest(BigInt(i + 1), payload));
      assert.equal((await peer.next())?.payloadProtocol, Lane.HANDOFF, `ready event ${i}`);
      const echo = await peer.next();
      assert.equal(echo?.payload.toString(), payload.toString(), `echo ${i}`);
      answered++;
      peer.close();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  assert.equal(answered, total);
});

test("an unknown service is refused with SERVICE_UNKNOWN and the services that exist", async () => {
  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(helloFrame({ serviceName: "nope" }));
  const refused = (await peer.nextReply())?.refused;
  assert.equal(refused?.code, Refused_Code.SERVICE_UNKNOWN);
  assert.match(refused!.reason, /echo/);
  await peer.closed;
});

test("bad Hellos are refused with the right code", async () => {
  const cases = [
    { fields: { serviceName: "Bad_Name" }, code: Refused_Code.SERVICE_UNKNOWN },
    { fields: { serviceName: "x".repeat(65) }, code: Refused_Code.SERVICE_UNKNOWN },
    { fields: { clientMinProtocol: 2, clientMaxProtocol: 3 }, code: Refused_Code.VERSION_UNSUPPORTED },
    { fields: { wantedVersion: "not-semver" }, code: Refused_Code.VERSION_UNSUPPORTED },
    { fields: { wantedVersion: "999.0.0" }, code: Refused_Code.VERSION_UNSUPPORTED },
  ];
  for (const { fields, code } of cases) {
    const peer = await RawPeer.connect(daemon.places.socket);
    peer.write(helloFrame(fields));
    const refused = (await peer.nextReply())?.refused;
    assert.equal(refused?.code, code, JSON.stringify(fields));
    assert.equal(refused?.daemonMinProtocol, 1);
    assert.equal(refused?.daemonMaxProtocol, 1);
    await peer.closed;
  }
  const ok = await RawPeer.connect(daemon.places.socket);
  ok.write(helloFrame({ wantedVersion: "0.0.1" }));
  assert.ok((await ok.nextReply())?.negotiated);
  ok.close();
});
