// A client that pipelines requests and does not read the answers is not read from: the backend's memory
// stays bounded while it waits, and once the client reads, every answer arrives, in order. Guards the
// batched writer (frames leave at the end of the tick, so backpressure is noticed there).
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { Frame_Kind, HelloReply, Lane, CAP_HANDLE_PASSING } from "../../src/wire/index.js";
import { startTestDaemon } from "../helpers/daemon.js";
import { echoRequest, helloFrame, RawPeer } from "../helpers/raw-peer.js";

function rssMb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

test("a client that does not read its echo answers is not read from; memory stays bounded; then every answer comes in order", async () => {
  const daemon = await startTestDaemon();
  const peer = await RawPeer.connect(daemon.places.socket);
  try {
    peer.write(helloFrame({ serviceName: "echo", clientCapabilities: CAP_HANDLE_PASSING }));
    const reply = HelloReply.decode((await peer.next())!.payload);
    assert.ok(reply.negotiated, "negotiated");
    assert.equal((await peer.next())!.payloadProtocol, Lane.HANDOFF, "handed off");
    const [backend] = await daemon.backendPids();
    const baseline = rssMb(backend!);

    const socket = peer.socket;
    socket.pause();
    const payload = Buffer.alloc(64 * 1024, 0x5a);
    let sent = 0;
    for (;;) {
      assert.ok(sent < 2_000, "the backend kept reading while nobody read its answers (128 MB sent)");
      if (socket.write(echoRequest(BigInt(++sent), payload))) continue;
      const drained = await Promise.race([once(socket, "drain").then(() => true), sleep(1_000).then(() => false)]);
      if (!drained) break;
    }
    const grown = rssMb(backend!) - baseline;
    assert.ok(grown < 48, `the backend grew by ${grown.toFixed(0)} MB while waiting for the client`);

    socket.resume();
    for (let id = 1n; id <= BigInt(sent); id++) {
      const frame = await peer.next(10_000);
      assert.ok(frame, `answer ${id} arrived`);
      assert.equal(frame.kind, Frame_Kind.RESPONSE);
      assert.equal(frame.requestId, id);
      assert.equal(frame.payload.length, payload.length);
    }
  } finally {
    peer.close();
    await daemon.stop();
  }
});
