// Descriptors in quired after many handshakes. Regression: on the reconnect path the broker stopped
// reading at the Hello, then end()ed the socket and waited for an EOF it could never read, so every
// reconnect handshake left a descriptor open. On the handoff path the broker passes a bare handle and
// closes its copy itself: once sent, or when the backend dies before the send (Node queues a handle
// until the previous one is acknowledged).
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { ClientError } from "../../src/client/errors.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { echoRequest, helloFrame, RawPeer } from "../helpers/raw-peer.js";

let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon()));
after(() => daemon.stop());

const openFds = () => readdirSync(`/proc/${daemon.process.pid}/fd`).length;

/** Waits (bounded) for quired to be back to the descriptors it had `before`, give or take 5. */
async function fdsSettle(before: number, after: string): Promise<void> {
  await eventually(
    () => openFds() <= before + 5,
    () => `quired to be back to the ${before} descriptors it had before ${after} (it has ${openFds()})`,
  );
}

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

test("reconnect handshakes leave no descriptor open in quired", {
  skip: process.platform !== "linux" && "counts /proc/<pid>/fd",
}, async () => {
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
  await fdsSettle(before, `${total} reconnect handshakes`);
});

test("handoffs leave no descriptor open in quired, even when the backend is SIGKILLed with handles queued", {
  skip: process.platform !== "linux" && "counts /proc/<pid>/fd",
}, async () => {
  const echoPid = async () =>
    (await adminCall(AdminOp.STATUS, { home: daemon.home })).status!.backends.find((b) => b.service === "echo" && b.state === "ready")?.pid;
  const warm = await connect("echo", { home: daemon.home, autostart: false });
  await warm.whenSettled();
  warm.close();
  const before = openFds();
  const total = 400;
  let next = 0;
  let served = 0;
  let killed = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < total) {
        const i = next++;
        // Twice mid-flood, with seven other handshakes in flight.
        if (i === 100 || i === 250) {
          const pid = await echoPid();
          if (pid) process.kill(pid, "SIGKILL"), killed++;
        }
        try {
          const c = await connect("echo", { home: daemon.home, autostart: false, timeoutMs: 30_000 });
          assert.equal((await c.request(Lane.ECHO, Buffer.from(`handoff ${i}`))).toString(), `handoff ${i}`);
          c.close();
          served++;
        } catch (error) {
          // A request in flight when its backend died may or may not have run: the client says so.
          if (!(error instanceof ClientError)) throw error;
        }
      }
    }),
  );
  assert.equal(killed, 2);
  assert.ok(served >= total - 30, `${served} of ${total} handshakes served`);
  await fdsSettle(before, `${total} handoffs`);
});
