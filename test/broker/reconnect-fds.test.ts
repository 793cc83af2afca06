// Regression: on the reconnect path the broker stopped reading at the Hello, then end()ed the socket and
// waited for an EOF it could never read, so every reconnect handshake left a descriptor open in quired.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { echoRequest, helloFrame, RawPeer } from "../helpers/raw-peer.js";

let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon()));
after(() => daemon.stop());

const openFds = () => readdirSync(`/proc/${daemon.process.pid}/fd`).length;

/** Hello to the broker without bit 0, then the token on the backend's socket, then one echo. */
async function reconnectHandshake(i: number): Promise<void> {
  const broker = await RawPeer.connect(daemon.places.socket);
  broker.write(helloFrame({ clientCapabilities: 0n }));
  const negotiated = (await broker.nextReply())?.negotiated;
  assert.ok(negotiated, `handshake ${i}: expected Negotiated`);
  await broker.closed;
  const backend = await RawPeer.connect(negotiated.backendPipe);
  backend.write(helloFrame({ authToken: negotiated.handlePassedToken }));
  assert.ok((await backend.nextReply())?.negotiated, `handshake ${i}: the backend took the token`);
  backend.write(echoRequest(1n, Buffer.from(`reconnect ${i}`)));
  assert.equal((await backend.next())?.payload.toString(), `reconnect ${i}`);
  backend.close();
}

test("reconnect handshakes leave no descriptor open in quired", { skip: process.platform !== "linux" && "counts /proc/<pid>/fd" }, async () => {
  await reconnectHandshake(-1); // launches the backend, whose channel and log descriptors stay
  const before = openFds();
  const total = 300;
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < total) await reconnectHandshake(next++);
    }),
  );
  // The broker closes its side once Negotiated is flushed; give those closes a moment to land.
  const deadline = Date.now() + 10_000;
  while (openFds() > before + 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const afterCount = openFds();
  assert.ok(afterCount <= before + 5, `quired had ${before} descriptors before ${total} reconnect handshakes and ${afterCount} after`);
});
