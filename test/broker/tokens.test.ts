// Tokens are good for one use, within their TTL, for their own service.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Refused_Code, type Negotiated } from "../../src/gen/quire/v1/hello.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { helloFrame, RawPeer } from "../helpers/raw-peer.js";

const TTL_MS = 400;
let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon(["--token-ttl-ms", String(TTL_MS)])));
after(() => daemon.stop());

async function negotiate(): Promise<Negotiated> {
  const broker = await RawPeer.connect(daemon.places.socket);
  broker.write(helloFrame({ clientCapabilities: 0n }));
  const negotiated = (await broker.nextReply())!.negotiated!;
  broker.close();
  return negotiated;
}

async function presentToken(path: string, token: Buffer, serviceName = "echo") {
  const peer = await RawPeer.connect(path);
  peer.write(helloFrame({ authToken: token, serviceName }));
  const reply = await peer.nextReply();
  peer.close();
  return reply;
}

test("a token used twice is refused the second time", async () => {
  const n = await negotiate();
  assert.ok((await presentToken(n.backendPipe, n.handlePassedToken))?.negotiated);
  const second = await presentToken(n.backendPipe, n.handlePassedToken);
  assert.equal(second?.refused?.code, Refused_Code.PEER_REJECTED);
  assert.match(second!.refused!.reason, /token unknown/);
});

test("an expired token is refused", async () => {
  const n = await negotiate();
  await new Promise((r) => setTimeout(r, TTL_MS + 200));
  const reply = await presentToken(n.backendPipe, n.handlePassedToken);
  assert.equal(reply?.refused?.code, Refused_Code.PEER_REJECTED);
  assert.match(reply!.refused!.reason, /expired/);
});

test("a token of another service is refused", async () => {
  const n = await negotiate();
  const reply = await presentToken(n.backendPipe, n.handlePassedToken, "ci");
  assert.equal(reply?.refused?.code, Refused_Code.PEER_REJECTED);
  // Refusing it did not use it up: its own service still accepts it.
  assert.ok((await presentToken(n.backendPipe, n.handlePassedToken))?.negotiated);
});

test("a made-up token, and no token, are refused", async () => {
  const n = await negotiate();
  const forged = Buffer.from(n.handlePassedToken);
  forged[0]! ^= 1;
  assert.equal((await presentToken(n.backendPipe, forged))?.refused?.code, Refused_Code.PEER_REJECTED);
  assert.equal((await presentToken(n.backendPipe, Buffer.alloc(0)))?.refused?.code, Refused_Code.PEER_REJECTED);
});

test("a token minted for a handoff that went through cannot be reused for a reconnect", async () => {
  const peer = await RawPeer.connect(daemon.places.socket);
  peer.write(helloFrame({ clientCapabilities: 1n }));
  const n = (await peer.nextReply())!.negotiated!;
  await peer.next(); // the ready event: the token is consumed
  const reply = await presentToken(n.backendPipe, n.handlePassedToken);
  assert.equal(reply?.refused?.code, Refused_Code.PEER_REJECTED);
  peer.close();
});

test("the broker bounds the tokens in flight: past the bound, Hellos are told to retry", async () => {
  const small = await startTestDaemon(["--max-pending-tokens", "2"]);
  try {
    const hello = async () => {
      const peer = await RawPeer.connect(small.places.socket);
      peer.write(helloFrame({ clientCapabilities: 0n }));
      const reply = await peer.nextReply();
      peer.close();
      return reply;
    };
    // Two reconnect tokens minted and never used stay in flight until they expire.
    assert.ok((await hello())?.negotiated);
    assert.ok((await hello())?.negotiated);
    const third = await hello();
    assert.equal(third?.refused?.code, Refused_Code.RATE_LIMITED);
    assert.ok(third!.refused!.retryAfterMs > 0n);
    assert.match(third!.refused!.reason, /in flight/);
  } finally {
    await small.stop();
  }
});
