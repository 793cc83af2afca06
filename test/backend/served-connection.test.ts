// ServedConnection.drained(): a service that streams waits on it instead of polling the socket's backlog.
// It resolves when the client has read what was queued for it, or when the connection closes, and at
// once when nothing is backed up. Real Unix sockets in a temporary directory.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ServedConnection } from "../../src/backend/served-connection.js";
import { Frame_Kind } from "../../src/gen/quire/v1/frame.js";
import { FrameDecoder, newFrame } from "../../src/wire/framing.js";
import { Lane } from "../../src/wire/lanes.js";

let dir: string;
const sockets: Socket[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), "quire-served-"));
});
after(() => {
  for (const socket of sockets) socket.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A served connection and the client's end of it, which reads nothing until told to. */
async function pair(): Promise<{ served: ServedConnection; client: Socket; closed: Promise<void> }> {
  const path = join(dir, `s-${sockets.length}.sock`);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const client = connect(path);
  client.pause();
  const [socket] = await accepted;
  sockets.push(client, socket);
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  const served = new ServedConnection({
    socket,
    decoder: new FrameDecoder(),
    service: "echo",
    handler: { onFrame() {} },
    onClosed: () => markClosed(),
  });
  served.start();
  server.close(); // no more connections; this one stays
  return { served, client, closed };
}

const bigEvent = () => newFrame({ kind: Frame_Kind.EVENT, payloadProtocol: Lane.ECHO, payload: Buffer.alloc(64 * 1024, 0x61) });

/** Sends until the client's socket is backed up; returns how many frames that took. */
function fill(served: ServedConnection): number {
  let sent = 0;
  while (!served.backedUp) {
    assert.ok(sent < 10_000, "the socket never backed up");
    served.send(bigEvent());
    sent++;
  }
  return sent;
}

test("nothing backed up: drained() resolves at once", async () => {
  const { served } = await pair();
  assert.equal(served.backedUp, false);
  await served.drained();
});

test("backed up: drained() resolves once the client has read everything, and every waiter shares it", async () => {
  const { served, client } = await pair();
  const sent = fill(served);
  const waiters = [served.drained(), served.drained()];
  assert.equal(waiters[0], waiters[1], "one promise for everyone waiting on this drain");
  const decoder = new FrameDecoder({ maxFirstBodyBytes: 16 * 1024 * 1024 });
  let frames = 0;
  client.on("data", (chunk: Buffer) => {
    decoder.push(chunk);
    while (decoder.next()) frames++;
  });
  client.resume();
  await Promise.all(waiters);
  assert.equal(served.backedUp, false);
  assert.ok(served.pendingBytes === 0, "everything left the backend");
  // What was sent is in the kernel or read: the client gets every frame.
  while (frames < sent) await once(client, "data");
  assert.equal(frames, sent);
});

test("backed up: drained() resolves when the client goes away instead of reading", async () => {
  const { served, client, closed } = await pair();
  fill(served);
  const waiting = served.drained();
  client.destroy();
  await waiting;
  await closed;
  assert.equal(served.backedUp, false, "a closed connection is not behind");
  await served.drained();
});
