// A step's output on its way to its log: a value masked by `::add-mask::` never goes out, however the
// line that masks it is split across reads, and the output's other bytes are not held for it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { StepOutput } from "../../../src/ci/output/step-output.js";
import type { WorkflowCommand } from "../../../src/ci/output/workflow-commands.js";

const TEXT =
  "before\r\n::add-mask::hunter22-value\r\nuse hunter22-value\r\n\x1b[32m::add-mask::second-secret\r\n\r\u00a0::add-mask::third-secret\r\nsecond-secret third-secret end";
const REDACTED = "before\r\n::add-mask::***\r\nuse ***\r\n\x1b[32m::add-mask::***\r\n\r\u00a0::add-mask::***\r\n*** *** end";

/** The log of `text` read in `pieces` (each a piece's length; the rest in one). */
function logOf(text: string, pieces: number[]): { log: string; masks: string[] } {
  const masks: string[] = [];
  const output = new StepOutput(["unrelated-secret"], (c: WorkflowCommand) => c.kind === "mask" && masks.push(c.value));
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  let at = 0;
  for (const length of [...pieces, bytes.length]) {
    out.push(output.push(bytes.subarray(at, Math.min(bytes.length, at + length))));
    at = Math.min(bytes.length, at + length);
  }
  out.push(output.end());
  return { log: Buffer.concat(out).toString(), masks };
}

test("a masked value is redacted from its own line and after, split in two at every offset", () => {
  for (let cut = 0; cut <= Buffer.byteLength(TEXT); cut++) {
    const { log, masks } = logOf(TEXT, [cut]);
    assert.equal(log, REDACTED, `split at ${cut}`);
    assert.deepEqual(masks, ["hunter22-value", "second-secret", "third-secret"]);
  }
});

test("a masked value is redacted read a byte at a time", () => {
  assert.equal(logOf(TEXT, Array(Buffer.byteLength(TEXT)).fill(1)).log, REDACTED);
});

test("output that is no mask command is not held for one", () => {
  const output = new StepOutput(["unrelated-secret"], () => {});
  assert.equal(output.push(Buffer.from("::warning::a note\r\nprogress: 3")).toString(), "::warning::a note\r\nprogress: 3");
  assert.equal(output.push(Buffer.from("\r\n::add-ma")).toString(), "\r\n::add-ma", "what comes before the value goes out");
  assert.equal(output.push(Buffer.from("sk::va")).toString(), "");
  assert.equal(output.holding, true);
  assert.equal(output.flush().toString(), "", "a mask's line waits for its end, quiet or not");
  assert.equal(output.push(Buffer.from("lue1\r\nvalue1")).toString(), "sk::***\r\n***");
  assert.equal(output.end().toString(), "");
});

test("after ::stop-commands:: a mask line is not a command, and is not held", () => {
  const output = new StepOutput([], () => {});
  assert.equal(output.push(Buffer.from("::stop-commands::tok\r\n::add-mask::abc")).toString(), "::stop-commands::tok\r\n::add-mask::abc");
});
