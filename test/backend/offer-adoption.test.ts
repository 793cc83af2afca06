// A backend adopts a handed-off socket from Node's internal event, before Node acknowledges the handle,
// and falls back to the 'message' event where that internal event cannot be listened to. Either way
// each offer is adopted exactly once: one ready event, then every answer, also for requests pipelined
// behind the Hello. Real daemons, bytes by hand.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { repoRoot } from "../helpers/paths.js";
import { echoRequest, helloFrame, RawPeer } from "../helpers/raw-peer.js";

const HIDE_INTERNAL_EVENT = join(repoRoot, "test", "fixtures", "no-early-offers.mjs");

const daemons: Record<string, TestDaemon> = {};
before(async () => {
  daemons.early = await startTestDaemon();
  daemons.message = await startTestDaemon([], undefined, { NODE_OPTIONS: `--import=${HIDE_INTERNAL_EVENT}` });
});
after(async () => {
  await Promise.all(Object.values(daemons).map((d) => d.stop()));
});

for (const path of ["early", "message"] as const) {
  test(`offers adopted from ${path === "early" ? "Node's internal event" : "'message' alone"}: each once, answers in order`, async () => {
    const daemon = daemons[path]!;
    for (let i = 0; i < 200; i++) {
      const peer = await RawPeer.connect(daemon.places.socket);
      const pipelined = i % 2 === 0;
      peer.write(
        pipelined
          ? Buffer.concat([helloFrame({ clientCapabilities: 1n }), echoRequest(1n, Buffer.from(`first ${i}`))])
          : helloFrame({ clientCapabilities: 1n }),
      );
      // The first Hello starts the backend: seconds on a loaded machine.
      assert.ok((await peer.nextReply(30_000))?.negotiated, `Negotiated ${i}`);
      if (!pipelined) peer.write(echoRequest(1n, Buffer.from(`first ${i}`)));
      assert.equal((await peer.next())?.payloadProtocol, Lane.HANDOFF, `one ready event ${i}`);
      peer.write(echoRequest(2n, Buffer.from(`second ${i}`)));
      const first = await peer.next();
      const second = await peer.next();
      assert.equal(first?.payload.toString(), `first ${i}`);
      assert.equal(second?.payload.toString(), `second ${i}`);
      assert.equal(second?.payloadProtocol, Lane.ECHO, "nothing between the answers: no second ready event, no refusal");
      peer.close();
    }
  });
}
