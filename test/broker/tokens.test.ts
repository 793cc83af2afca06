// Tokens are good for one use, within their TTL, for their own service.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { Refused_Code, type Negotiated } from "../../src/gen/quire/v1/hello.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
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
  // The expiry is in the token (after its format byte and 16-byte nonce), on the clock the backend reads.
  const expiresAt = n.handlePassedToken.readUIntBE(17, 6);
  await eventually(() => Date.now() >= expiresAt, "the token's expiry to pass");
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

// Regression: the only bound was the global one, and one client could fill it in a second and have every
// Hello refused RATE_LIMITED until its tokens expired.
test("one peer filling its share of tokens in flight leaves other peers, and anonymous ones, served", async () => {
  const PER_PEER = 16;
  const small = await startTestDaemon(["--max-pending-tokens", "64", "--max-pending-tokens-per-peer", String(PER_PEER)]);
  try {
    const hello = async (peerPid: number) => {
      const peer = await RawPeer.connect(small.places.socket);
      peer.write(helloFrame({ clientCapabilities: 0n, peerPid }));
      const reply = await peer.nextReply();
      peer.close();
      return reply;
    };
    const pending = async () =>
      Number(/^quire_pending_tokens (\d+)$/m.exec((await adminCall(AdminOp.METRICS, { home: small.home })).metricsText)?.[1]);
    const greedy = 4_000_001;
    const tokens: Negotiated[] = [];
    for (let i = 0; i < PER_PEER; i++) {
      const reply = await hello(greedy);
      assert.ok(reply?.negotiated, `Hello ${i} of the greedy peer: ${reply?.refused?.reason}`);
      tokens.push(reply.negotiated);
    }
    const refusedReply = (await hello(greedy))?.refused;
    assert.equal(refusedReply?.code, Refused_Code.RATE_LIMITED);
    assert.ok(refusedReply!.retryAfterMs > 0n);
    assert.match(refusedReply!.reason, /in flight for peer pid 4000001/);

    assert.ok((await hello(4_000_002))?.negotiated, "another peer is served");
    assert.ok((await hello(0))?.negotiated, "an anonymous peer is served");

    // Using one of its tokens gives the greedy peer room for one more handshake.
    const before = await pending();
    const used = tokens.pop()!;
    assert.ok((await presentToken(used.backendPipe, used.handlePassedToken))?.negotiated);
    await eventually(async () => (await pending()) < before, "the broker to hear that the token was used");
    assert.ok((await hello(greedy))?.negotiated);
    assert.equal((await hello(greedy))?.refused?.code, Refused_Code.RATE_LIMITED);

    // Anonymous peers share one share: filling it leaves named peers served.
    for (let i = 1; i < PER_PEER; i++) assert.ok((await hello(0))?.negotiated, `anonymous Hello ${i}`);
    const anonymous = (await hello(0))?.refused;
    assert.equal(anonymous?.code, Refused_Code.RATE_LIMITED);
    assert.match(anonymous!.reason, /no peer_pid/);
    assert.ok((await hello(4_000_003))?.negotiated, "a named peer is still served");
  } finally {
    await small.stop();
  }
});
