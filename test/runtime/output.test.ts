// Output in memory is bounded: head, tail and a marker; a slow reader pauses the command.
import assert from "node:assert/strict";
import { test } from "node:test";
import { OutputCapture } from "../../src/runtime/output.js";
import { spawn, run } from "../../src/runtime/index.js";
import { alive, identify } from "../helpers/fixtures.js";

test("50 MiB through a 64 KiB buffer keeps the head, the tail and says what was dropped", async () => {
  const total = 50 * 1024 * 1024;
  const result = await run("sh", ["-c", `printf 'HEAD-START'; head -c ${total - 20} /dev/zero | tr '\\0' m; printf 'TAIL--END!'`], {
    pty: false,
    maxOutputBytes: 64 * 1024,
  });
  assert.equal(result.outputBytes, total);
  assert.equal(result.droppedBytes, total - 64 * 1024);
  assert.ok(result.output.startsWith("HEAD-START"));
  assert.ok(result.output.endsWith("TAIL--END!"));
  assert.match(result.output, new RegExp(`\\[quire: ${total - 64 * 1024} bytes of output dropped here\\]`));
  assert.ok(result.output.length < 64 * 1024 + 100, `kept ${result.output.length} characters`);
});

test("the capture keeps exactly its budget, however the output is chunked", () => {
  const capture = new OutputCapture(10);
  for (const piece of ["ab", "cdefg", "hijklmnop", "q", "rstuvwxyz"]) capture.append(Buffer.from(piece));
  assert.equal(capture.totalBytes, 26);
  assert.equal(capture.droppedBytes, 16);
  assert.equal(capture.toString(), "abcde\n[quire: 16 bytes of output dropped here]\nvwxyz");
  const small = new OutputCapture(100);
  small.append(Buffer.from("all of it"));
  assert.equal(small.toString(), "all of it");
});

test("a reader that stops reading pauses the command instead of buffering its output", async () => {
  const p = spawn("sh", ["-c", "head -c 104857600 /dev/zero"], { maxOutputBytes: 1024 });
  const command = identify(p.pid);
  const stream = p.output;
  let received = 0;
  let pausedOnce = false;
  stream.on("data", (chunk: Buffer) => {
    received += chunk.length;
    if (received > 1024 * 1024 && !pausedOnce) {
      pausedOnce = true;
      stream.pause();
    }
  });
  await new Promise((r) => setTimeout(r, 500));
  const heldBack = received;
  assert.ok(heldBack < 8 * 1024 * 1024, `read ${heldBack} bytes while paused`);
  assert.equal(alive(command), true, "the command waits for its reader");
  stream.resume();
  const result = await p.wait();
  assert.equal(result.outputBytes, 104857600);
  assert.equal(received, 104857600);
});

for (const pty of [true, false]) {
  test(`a reader paused across the command's exit still gets every byte (${pty ? "PTY" : "pipes"})`, async () => {
    const p = spawn("sh", ["-c", "head -c 30000 /dev/zero | tr '\\0' z"], { pty });
    p.pause();
    // The command writes into the kernel's buffers and exits while nobody reads. (With pipes, Node's
    // child_process resumes paused stdio itself at exit; with a PTY the output waits for the reader.)
    await new Promise((r) => setTimeout(r, 400));
    p.resume();
    const result = await p.wait();
    assert.equal(result.exitCode, 0);
    assert.equal(result.outputBytes, 30000);
    assert.equal(result.output, "z".repeat(30000));
  });
}
