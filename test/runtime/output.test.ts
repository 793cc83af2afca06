// Output in memory is bounded: head, tail and a marker; a slow reader pauses the command.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { OutputCapture } from "../../src/runtime/output.js";
import { spawn, run } from "../../src/runtime/index.js";
import { eventually } from "../helpers/eventually.js";
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

/** Whether the process is asleep, and how many bytes it has written so far. */
function writer(pid: number): { asleep: boolean; written: number } {
  const state = readFileSync(`/proc/${pid}/stat`, "latin1").replace(/^.*\) /s, "")[0];
  const written = Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, "latin1"))?.[1]);
  return { asleep: state === "S", written };
}

test("a reader that stops reading pauses the command instead of buffering its output", async () => {
  // exec: the command is head itself, which reads /dev/zero (never a wait) and so sleeps only in a write.
  const p = spawn("sh", ["-c", "exec head -c 104857600 /dev/zero"], { maxOutputBytes: 1024 });
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
  // Once the reader has paused: asleep twice in a row with nothing written in between, held by a terminal
  // nobody reads. (A command whose output went on into memory would never wait, and would be done long
  // before the bound.)
  let before = -1;
  await eventually(() => {
    assert.equal(alive(command), true, "the command ran to its end: nothing held it back");
    const now = writer(command.pid);
    const held = pausedOnce && now.asleep && now.written === before;
    before = now.asleep ? now.written : -1;
    return held;
  }, "the command to wait for its paused reader");
  const heldBack = received;
  assert.ok(heldBack < 8 * 1024 * 1024, `read ${heldBack} bytes while paused`);
  assert.equal(alive(command), true, "the command waits for its reader");
  stream.resume();
  const result = await p.wait();
  assert.equal(result.outputBytes, 104857600);
  assert.equal(received, 104857600);
});

/** The process running as `pid`, or undefined when it has already gone. */
function identifyIfRunning(pid: number) {
  try {
    return identify(pid);
  } catch {
    return undefined;
  }
}

for (const pty of [true, false]) {
  test(`a reader paused across the command's exit still gets every byte (${pty ? "PTY" : "pipes"})`, async () => {
    // As much as the kernel holds for a reader that does not read: a pipe 64 KiB, a terminal a few KiB.
    const bytes = pty ? 4_000 : 30_000;
    const p = spawn("sh", ["-c", `head -c ${bytes} /dev/zero | tr '\\0' z`], { pty });
    p.pause();
    // The command writes into the kernel's buffers and exits while nobody reads. (With pipes, Node's
    // child_process resumes paused stdio itself at exit; with a PTY the output waits for the reader.) On a
    // loaded machine it may be gone before it can be identified: that is the exit this waits for.
    const command = identifyIfRunning(p.pid);
    if (command) await eventually(() => !alive(command), "the command to exit while nobody reads");
    p.resume();
    const result = await p.wait();
    assert.equal(result.exitCode, 0);
    assert.equal(result.outputBytes, bytes);
    assert.equal(result.output, "z".repeat(bytes));
  });
}
