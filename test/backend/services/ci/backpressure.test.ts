// A client that asks for a run's logs (following) and its watch, and then does not read, is sent nothing
// more until its socket drains: the ci backend does not buffer the log for it, other clients are served
// meanwhile, and once it reads, the whole log and both answers arrive, in order.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../../../src/client/admin-calls.js";
import { CiClient } from "../../../../src/client/ci.js";
import { CiEvent, CiRequest, CiResponse } from "../../../../src/gen/quire/v1/ci.js";
import { encodeFramed, Frame_Kind, HelloReply, Lane, CAP_HANDLE_PASSING, newFrame } from "../../../../src/wire/index.js";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { tempRepos } from "../../../helpers/git.js";
import { helloFrame, RawPeer } from "../../../helpers/raw-peer.js";

/** Output of the one step: far more than the backend may hold for a client that does not read. */
const OUTPUT_MB = 96;
/**
 * What the backend may grow by meanwhile. The run itself (its terminal's output read, redacted and
 * written) grew it by 30-50 MB here; buffering the log for the client that does not read, by 140.
 */
const RSS_GROWTH_LIMIT_MB = 80;

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
const peers: RawPeer[] = [];
const clients: CiClient[] = [];
before(async () => {
  daemon = await startTestDaemon();
  repo = repos.make({
    "quire.yml": [
      "name: loud",
      "jobs:",
      "  shout:",
      "    steps:",
      "      - name: print",
      `        run: head -c ${OUTPUT_MB}M /dev/zero | tr '\\0' x | fold -w 63`,
    ].join("\n"),
  });
});
after(async () => {
  for (const peer of peers) peer.close();
  for (const client of clients) client.close();
  await daemon.stop();
});

function rssMb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}

function ciRequest(requestId: bigint, request: CiRequest): Buffer {
  return encodeFramed(
    newFrame({
      kind: Frame_Kind.REQUEST,
      payloadProtocol: Lane.CI,
      requestId,
      payload: Buffer.from(CiRequest.encode(CiRequest.fromPartial(request)).finish()),
    }),
  );
}

test("a client following logs and watching a run without reading holds the backend to a bounded backlog; others are served; then everything arrives", async () => {
  const ci = await CiClient.connect({ home: daemon.home, autostart: false });
  clients.push(ci);
  const file = join(repo, "quire.yml");
  const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home });
  const backend = status!.backends.find((b) => b.service === "ci")!.pid;
  const baseline = rssMb(backend);

  const slow = await RawPeer.connect(daemon.places.socket);
  peers.push(slow);
  slow.write(helloFrame({ serviceName: "ci", clientCapabilities: CAP_HANDLE_PASSING }));
  assert.ok(HelloReply.decode((await slow.next())!.payload).negotiated, "negotiated");
  assert.equal((await slow.next())!.payloadProtocol, Lane.HANDOFF, "handed off");

  const run = await ci.submit(file, readFileSync(file, "utf8"), { repo, ref: "main" });
  slow.write(ciRequest(2n, { logs: { id: run.id, job: "", step: "", follow: true } }));
  slow.write(ciRequest(3n, { watch: { id: run.id } }));
  slow.socket.pause();

  // Another client is answered throughout: it watches the run to its end, and lists the runs.
  let peak = baseline;
  const ended = await ci.watch(run.id, () => (peak = Math.max(peak, rssMb(backend))));
  peak = Math.max(peak, rssMb(backend));
  assert.equal(ended.state, "complete");
  assert.equal((await ci.list()).length, 1);
  assert.ok(
    peak - baseline < RSS_GROWTH_LIMIT_MB,
    `the ci backend grew from ${baseline.toFixed(0)} MB to ${peak.toFixed(0)} MB while the client did not read`,
  );

  // Now the slow client reads: the log, byte for byte, then the logs answer; the watch's events and answer.
  slow.socket.resume();
  const received = createHash("sha256");
  let bytes = 0;
  const answers = new Map<bigint, CiResponse>();
  while (answers.size < 2) {
    const frame = await slow.next(30_000);
    assert.ok(frame, "the connection stays open");
    if (frame.kind === Frame_Kind.RESPONSE) {
      answers.set(frame.requestId, CiResponse.decode(frame.payload));
      continue;
    }
    assert.equal(frame.kind, Frame_Kind.EVENT);
    const event = CiEvent.decode(frame.payload);
    if (frame.requestId === 2n) {
      assert.ok(!answers.has(2n), "no log after the logs answer");
      received.update(event.log!.data);
      bytes += event.log!.data.length;
    } else {
      assert.equal(frame.requestId, 3n);
      assert.ok(event.run, "a watch event carries the run");
    }
  }
  assert.equal(answers.get(2n)!.run!.state, "complete");
  assert.equal(answers.get(3n)!.run!.state, "complete");
  const log = readFileSync(ended.jobs[0]!.steps[0]!.log);
  assert.ok(log.length >= OUTPUT_MB * 1024 * 1024, `the step wrote ${log.length} bytes`);
  assert.equal(bytes, log.length, "every byte of the log arrived");
  assert.equal(received.digest("hex"), createHash("sha256").update(log).digest("hex"), "in order");
});
