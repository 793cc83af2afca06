// A step log on a full disk: the step printing 50 MB into an 8 MB QUIRE_HOME left its partial log behind,
// so the disk stayed full and nothing could record how the run ended. Now the log cuts itself at once to
// its head (the room goes back to the disk), keeps its last bytes, and says at close how much it left
// out; a follower past the cut goes on from it. A real tmpfs (mounting needs root, as CI has).
import assert from "node:assert/strict";
import { readFileSync, statfsSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { CUT_HEAD_BYTES, CUT_TAIL_BYTES, followLog, StepLog } from "../../../src/ci/output/log-file.js";
import { eventually } from "../../helpers/eventually.js";
import { mountTmpfs } from "../../helpers/tmpfs.js";

const MiB = 1024 * 1024;
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

function tmpfs(bytes: number): string {
  const disk = mountTmpfs(bytes);
  cleanup.push(() => disk.unmount());
  return disk.dir;
}

const free = (dir: string) => {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
};

describe("a step log on a full disk", () => {
  test("cuts itself when the disk fills, giving the room back at once, and ends with a note and its last bytes", async () => {
    const dir = tmpfs(1 * MiB);
    const path = join(dir, "logs", "1-0.log");
    const log = StepLog.open(path);
    // Numbered 4 KiB chunks, so what was kept can be told apart from what was left out.
    const chunk = (i: number) => Buffer.from(`<${String(i).padStart(6, "0")}>`.padEnd(4096, "."));
    const given: Buffer[] = [];
    for (let i = 0; i < 512 && !log.cut; i++) {
      given.push(chunk(i));
      log.write(given.at(-1)!);
    }
    assert.equal(log.cut, true, "2 MiB do not fit in 1 MiB");
    assert.ok(free(dir) > 768 * 1024, `the log gave the disk back what it took beyond its head (${free(dir)} bytes free)`);
    // The step goes on printing until it is stopped: only its last bytes are kept.
    for (let i = given.length; i < given.length + 40; i++) log.write(chunk(i));
    for (let i = given.length, end = given.length + 40; i < end; i++) given.push(chunk(i));
    await log.close();

    const all = Buffer.concat(given);
    const text = readFileSync(path);
    assert.deepEqual(text.subarray(0, CUT_HEAD_BYTES), all.subarray(0, CUT_HEAD_BYTES), "the head as it was");
    assert.deepEqual(text.subarray(text.length - CUT_TAIL_BYTES), all.subarray(all.length - CUT_TAIL_BYTES), "the last bytes given");
    const note = text.subarray(CUT_HEAD_BYTES, text.length - CUT_TAIL_BYTES).toString();
    const leftOut = all.length - CUT_HEAD_BYTES - CUT_TAIL_BYTES;
    assert.equal(
      note,
      `\r\n[quire: the disk filled up, so this log was cut here: ${leftOut} bytes of output left out; the last ${CUT_TAIL_BYTES} bytes follow]\r\n`,
    );
  });

  test("a follower past the cut goes on from it and reads the note and the last bytes", async () => {
    const dir = tmpfs(1 * MiB);
    const path = join(dir, "1-0.log");
    const log = StepLog.open(path);
    let closed = false;
    const received: Buffer[] = [];
    let receivedBytes = 0;
    const onChunk = (b: Buffer) => {
      received.push(Buffer.from(b));
      receivedBytes += b.length;
    };
    const following = followLog(path, onChunk, () => !closed, new AbortController().signal);
    log.write(Buffer.alloc(256 * 1024, "h"));
    await eventually(() => receivedBytes >= 256 * 1024, "the follower to read the first 256 KiB", 20_000);
    while (!log.cut) log.write(Buffer.alloc(64 * 1024, "x"));
    log.write(Buffer.from("the very end"));
    await log.close();
    closed = true;
    await following;
    const text = Buffer.concat(received).toString();
    assert.match(
      text,
      /\[quire: the disk filled up, so this log was cut here: \d+ bytes of output left out; the last 65536 bytes follow\]\r\n/,
    );
    assert.ok(text.endsWith("the very end"));
  });
});
