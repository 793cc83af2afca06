// Regression: the admin lane had no backpressure. A client that pipelined a million STATUS requests and
// never read grew quired from 64 MB to 851 MB, for good. quired now stops reading such a client while
// its answers are backed up, and answers everyone else meanwhile.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { AdminRequest, AdminRequest_Op, AdminResponse } from "../../src/gen/quire/v1/admin.js";
import { Frame_Kind } from "../../src/gen/quire/v1/frame.js";
import { encodeFramed, FrameDecoder, newFrame } from "../../src/wire/framing.js";
import { WireError } from "../../src/wire/errors.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { RawPeer } from "../helpers/raw-peer.js";

const REQUESTS = 250_000;
/**
 * Unbounded, these answers alone are about 200 MB in quired (the report: ~800 bytes per request). The
 * limit leaves room for garbage not yet collected, which under heavy load reached ~50 MB.
 */
const RSS_GROWTH_LIMIT_MB = 72;

let daemon: TestDaemon;
let flooder: Socket | undefined;
before(async () => (daemon = await startTestDaemon()));
after(async () => {
  flooder?.destroy();
  await daemon.stop();
});

function rssMb(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return kb / 1024;
}

async function statusAnswered(): Promise<number> {
  const { metricsText } = await adminCall(AdminOp.METRICS, { home: daemon.home, timeoutMs: 10_000 });
  return Number(/^quire_admin_requests_total\{op="status"\} (\d+)$/m.exec(metricsText)?.[1] ?? 0);
}

test("a client pipelining STATUS without reading is not read from; others are answered; it gets every answer in order", async () => {
  const pid = daemon.process.pid!;
  await adminCall(AdminOp.STATUS, { home: daemon.home });
  const before = await statusAnswered();
  const baseline = rssMb(pid);
  let peak = baseline;

  flooder = connect(daemon.places.socket);
  const socket = flooder;
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  const payload = Buffer.from(AdminRequest.encode({ op: AdminRequest_Op.STATUS }).finish());
  for (let id = 1; id <= REQUESTS; ) {
    const batch: Buffer[] = [];
    for (const end = Math.min(REQUESTS, id + 9_999); id <= end; id++) {
      batch.push(encodeFramed(newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.ADMIN, requestId: BigInt(id), payload })));
    }
    socket.write(Buffer.concat(batch));
  }

  // Wait until quired stops answering the flooder (two readings in a row agree), meanwhile answering us.
  let previous = -1;
  let answered = await statusAnswered();
  for (let polls = 0; answered !== previous; polls++) {
    assert.ok(polls < 300, "quired kept answering the flooder");
    peak = Math.max(peak, rssMb(pid));
    await new Promise((r) => setTimeout(r, 200));
    [previous, answered] = [answered, await statusAnswered()];
  }
  peak = Math.max(peak, rssMb(pid));
  assert.ok(answered - before < REQUESTS / 10, `quired answered ${answered - before} of ${REQUESTS} requests nobody read`);
  assert.ok(socket.writableLength > 0, "quired stopped reading the flooder");
  const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home });
  assert.equal(status!.pid, pid, "another admin client is answered");
  assert.ok(peak - baseline < RSS_GROWTH_LIMIT_MB, `quired grew from ${baseline.toFixed(0)} MB to ${peak.toFixed(0)} MB`);

  // Now the flooder reads: every answer comes, in order.
  const decoder = new FrameDecoder();
  let expected = 1n;
  let problem: string | undefined;
  await new Promise<void>((resolve, reject) => {
    socket.on("close", () => reject(new Error(`the connection closed after ${expected - 1n} answers`)));
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
        if (frame instanceof WireError) return reject(frame);
        if (frame.requestId !== expected || frame.kind !== Frame_Kind.RESPONSE || !AdminResponse.decode(frame.payload).ok) {
          problem ??= `answer ${expected}: request id ${frame.requestId}, kind ${frame.kind}`;
        }
        if (expected++ === BigInt(REQUESTS)) return resolve();
      }
    });
  });
  assert.equal(problem, undefined);
  peak = Math.max(peak, rssMb(pid));
  assert.ok(peak - baseline < RSS_GROWTH_LIMIT_MB, `quired grew from ${baseline.toFixed(0)} MB to ${peak.toFixed(0)} MB while answering`);
});

test("an admin connection holding over 1 MiB of one unfinished request is closed with a reason", async () => {
  const peer = await RawPeer.connect(daemon.places.socket);
  try {
    const payload = Buffer.from(AdminRequest.encode({ op: AdminRequest_Op.HEALTHZ }).finish());
    peer.write(encodeFramed(newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.ADMIN, requestId: 1n, payload })));
    assert.equal(AdminResponse.decode((await peer.next())!.payload).ok, true);
    const header = Buffer.alloc(5);
    header.writeUInt8(1, 0);
    header.writeUInt32LE(8 * 1024 * 1024, 1);
    peer.write(Buffer.concat([header, Buffer.alloc(1024 * 1024 + 1)]));
    const reply = await peer.nextReply(10_000);
    assert.equal(reply?.refused?.details.error, "QUIRE_ERR_FRAME_TOO_LARGE");
    await peer.closed;
  } finally {
    peer.close();
  }
});
