// Tokens are sealed by the broker and checked by the backend alone: a reconnect Hello is answered with
// no IPC round trip, and still only the broker's tokens, unaltered, for this backend, once, pass.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { Refused_Code, type Negotiated } from "../../src/gen/quire/v1/hello.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { helloFrame, RawPeer } from "../helpers/raw-peer.js";

let daemon: TestDaemon;
let other: TestDaemon;
before(async () => {
  daemon = await startTestDaemon();
  other = await startTestDaemon();
});
after(async () => {
  await daemon.stop();
  await other.stop();
});

async function negotiate(d: TestDaemon, serviceName = "echo"): Promise<Negotiated> {
  const broker = await RawPeer.connect(d.places.socket);
  broker.write(helloFrame({ clientCapabilities: 0n, serviceName }));
  const reply = await broker.nextReply();
  broker.close();
  assert.ok(reply?.negotiated, reply?.refused?.reason);
  return reply.negotiated;
}

async function presentToken(path: string, token: Buffer, serviceName = "echo") {
  const peer = await RawPeer.connect(path);
  peer.write(helloFrame({ authToken: token, serviceName }));
  const reply = await peer.nextReply();
  peer.close();
  return reply;
}

test("tokens are opaque bytes longer than the old 16: 50 for echo", async () => {
  const n = await negotiate(daemon);
  assert.equal(n.handlePassedToken.length, 50);
});

test("a bit flipped in the MAC, the nonce, the expiry or the service is refused, and the genuine token still works", async () => {
  const n = await negotiate(daemon);
  const t = n.handlePassedToken;
  // [u8 format][16 nonce][u48 expiry][u48 id][u8 length][service][16 MAC]
  for (const [field, at] of Object.entries({ mac: t.length - 1, nonce: 5, expiry: 22, service: 31 })) {
    const forged = Buffer.from(t);
    forged[at]! ^= 1;
    const reply = await presentToken(n.backendPipe, forged);
    assert.equal(reply?.refused?.code, Refused_Code.PEER_REJECTED, field);
    assert.match(reply!.refused!.reason, /token unknown/, field);
  }
  assert.ok((await presentToken(n.backendPipe, t))?.negotiated);
  const replayed = await presentToken(n.backendPipe, t);
  assert.equal(replayed?.refused?.code, Refused_Code.PEER_REJECTED);
});

test("a token from another daemon (another key) is refused, though well formed and unused", async () => {
  const theirs = await negotiate(other);
  const ours = await negotiate(daemon);
  const reply = await presentToken(ours.backendPipe, theirs.handlePassedToken);
  assert.equal(reply?.refused?.code, Refused_Code.PEER_REJECTED);
  assert.match(reply!.refused!.reason, /token unknown/);
  assert.ok((await presentToken(theirs.backendPipe, theirs.handlePassedToken))?.negotiated, "its own backend takes it");
});

test("a token for another service's backend is refused by this one", async () => {
  const pty = await negotiate(daemon, "pty");
  const echo = await negotiate(daemon);
  // Presented as a Hello for echo at the echo backend: the key is the pty backend's, so the MAC fails.
  const reply = await presentToken(echo.backendPipe, pty.handlePassedToken);
  assert.equal(reply?.refused?.code, Refused_Code.PEER_REJECTED);
  assert.ok((await presentToken(pty.backendPipe, pty.handlePassedToken, "pty"))?.negotiated);
});

test("a respawned backend has a new key: its predecessor's unused tokens are refused", async () => {
  const n = await negotiate(daemon);
  await daemon.backendPids(); // so that stop() can clean up whatever is left
  const echo = async () => (await adminCall(AdminOp.STATUS, { home: daemon.home })).status!.backends.find((b) => b.service === "echo")!;
  const killed = (await echo()).pid;
  process.kill(killed, "SIGKILL");
  // Until the broker has seen the death, its Hellos still name the killed backend and its key.
  await eventually(async () => {
    const now = await echo();
    return now.state === "ready" && now.pid !== killed;
  }, "the respawned backend to be ready");
  const fresh = await negotiate(daemon);
  const reply = await presentToken(fresh.backendPipe, n.handlePassedToken);
  assert.equal(reply?.refused?.code, Refused_Code.PEER_REJECTED);
  assert.ok((await presentToken(fresh.backendPipe, fresh.handlePassedToken))?.negotiated);
});

test("tokens are sealed ahead of the Hellos that take them, yet each still has (nearly) its whole TTL", async () => {
  const ttlMs = 30_000;
  const expiryOf = (n: Negotiated) => n.handlePassedToken.readUIntBE(17, 6);
  for (const pauseMs of [0, 1_200]) {
    await new Promise((r) => setTimeout(r, pauseMs));
    const asked = Date.now();
    const n = await negotiate(daemon);
    // A spare older than a second is not handed out: after the pause the token is sealed afresh.
    assert.ok(expiryOf(n) >= asked + ttlMs - 1_000, `expires ${expiryOf(n) - asked} ms after the Hello (after a ${pauseMs} ms pause)`);
    assert.ok(expiryOf(n) <= Date.now() + ttlMs);
    assert.ok((await presentToken(n.backendPipe, n.handlePassedToken))?.negotiated, "and it is good");
  }
});
