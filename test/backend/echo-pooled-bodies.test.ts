// The echo service gives each request's pooled body back once the write carrying it is done. A pool
// that poisons what it is given back shows any payload read (or still waiting to be written) after its
// release: a client that pipelines a flood of 64 KiB frames and reads slowly, so answers queue up in the
// socket while the backend keeps reading into reused buffers, must get every payload back intact. Real
// Unix sockets, both ways a backend reads (into the decoder, as a handed-off socket; 'data', as a reconnect).
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { connect, createServer, type NetConnectOpts, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ServedConnection } from "../../src/backend/served-connection.js";
import { createEchoService } from "../../src/backend/services/echo.js";
import { type Frame, Frame_Kind } from "../../src/gen/quire/v1/frame.js";
import { BodyPool } from "../../src/wire/body-pool.js";
import { WireError } from "../../src/wire/errors.js";
import { encodeFramed, FrameDecoder, newFrame } from "../../src/wire/framing.js";
import { Lane } from "../../src/wire/lanes.js";

const POISON = 0xee;
const FRAMES = 300;
const SIZE = 64 * 1024;

let dir: string;
const sockets: Socket[] = [];
before(() => {
  dir = mkdtempSync(join(tmpdir(), "quire-pooled-"));
});
after(() => {
  for (const socket of sockets) socket.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** Request i's payload: every byte says which request it is (never the poison byte). */
const payloadOf = (i: number) => Buffer.alloc(SIZE, i % 200);

/** An echo served over a real socket pair; `readsIntoDecoder` picks how the served side reads. */
async function servedEcho(readsIntoDecoder: boolean, pool: BodyPool): Promise<Socket> {
  const path = join(dir, `s-${sockets.length}.sock`);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = once(server, "connection") as Promise<[Socket]>;
  const decoder = new FrameDecoder({ bodyPool: pool, maxFirstBodyBytes: 1 << 20 });
  let served: ServedConnection | undefined;
  // The served side is the one that dialled when it reads into the decoder (onread is chosen at creation).
  const dialled = connect({
    path,
    ...(readsIntoDecoder && {
      onread: {
        buffer: () => decoder.readBuffer(),
        callback: (n: number) => {
          decoder.wrote(n);
          served?.pump();
          return true;
        },
      },
    }),
  } as unknown as NetConnectOpts);
  const [accepted0] = await accepted;
  server.close();
  const [servedSocket, client] = readsIntoDecoder ? [dialled, accepted0] : [accepted0, dialled];
  sockets.push(servedSocket, client);
  served = new ServedConnection({
    socket: servedSocket,
    decoder,
    readsIntoDecoder,
    service: "echo",
    handler: createEchoService(),
    onClosed() {},
  });
  served.start();
  return client;
}

for (const readsIntoDecoder of [true, false]) {
  test(`a slow reader's flood of 64 KiB echoes comes back intact (${readsIntoDecoder ? "read into the decoder" : "'data' events"})`, async () => {
    const pool = new BodyPool({ poison: POISON });
    const client = await servedEcho(readsIntoDecoder, pool);
    const requests = Array.from({ length: FRAMES }, (_, i) =>
      encodeFramed(newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.ECHO, requestId: BigInt(i + 1), payload: payloadOf(i) })),
    );
    client.pause();
    client.write(Buffer.concat(requests));
    // Let the backend read, answer and back up against a client that reads nothing yet.
    await new Promise((resolve) => setImmediate(resolve));
    const decoder = new FrameDecoder({ maxFirstBodyBytes: 1 << 20 });
    const answers: Frame[] = [];
    const done = new Promise<void>((resolve, reject) => {
      client.on("data", (chunk: Buffer) => {
        decoder.push(chunk);
        for (let f = decoder.next(); f !== undefined; f = decoder.next()) {
          if (f instanceof WireError) return reject(f);
          answers.push(f);
        }
        if (answers.length === FRAMES) resolve();
        // Slowly: a pause after each chunk, so the backend's answers wait in its socket.
        client.pause();
        setTimeout(() => client.resume(), 1);
      });
    });
    client.resume();
    await done;
    for (const [i, answer] of answers.entries()) {
      assert.equal(answer.requestId, BigInt(i + 1));
      assert.ok(answer.payload.equals(payloadOf(i)), `answer ${i + 1} was read from a buffer after its release`);
    }
    assert.ok(pool.freeBytes > 0, "the bodies came back to the pool");
  });
}
