// Random and mutated first frames against a live broker: it never dies and keeps serving.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { connect } from "../../src/client/connect.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { fuzzIterations, fuzzSeed, Random } from "../helpers/random.js";
import { echoRequest, helloFrame, RawPeer } from "../helpers/raw-peer.js";

const CONNECTIONS = Math.ceil(fuzzIterations(30_000) / 100);
const SEED = fuzzSeed();

let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon(["--hello-timeout-ms", "500", "--hello-rate", "100000", "--hello-burst", "100000"])));
after(() => daemon.stop());

test(`${CONNECTIONS} connections of random and mutated bytes leave the broker serving (seed ${SEED})`, async () => {
  const random = new Random(SEED);
  const seeds = [
    helloFrame({}),
    helloFrame({ clientCapabilities: 1n }),
    Buffer.concat([helloFrame({ clientCapabilities: 1n }), echoRequest(1n, Buffer.from("x"))]),
  ];
  let done = 0;
  const worker = async () => {
    while (done < CONNECTIONS) {
      done++;
      const input = random.next() < 0.2 ? random.bytes(random.int(100)) : random.mutate(random.pick(seeds));
      const peer = await RawPeer.connect(daemon.places.socket);
      peer.write(input);
      if (random.next() < 0.5) peer.socket.end();
      // Read whatever comes back (or nothing) briefly, then hang up.
      await Promise.race([peer.closed, new Promise((r) => setTimeout(r, 5 + random.int(20)))]);
      peer.close();
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.equal(daemon.process.exitCode, null, `quired died: ${daemon.stderr()}`);
  const client = await connect("echo", { home: daemon.home, autostart: false });
  assert.equal((await client.request(Lane.ECHO, Buffer.from("alive"))).toString(), "alive");
  client.close();
});
