// Workflow commands in a step's output: found line by line whatever the chunking (a command split
// across reads, "::" split between two, a non-ASCII value split inside a character), and only in lines
// that begin with one.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type WorkflowCommand, WorkflowCommandScanner } from "../../../src/ci/output/workflow-commands.js";
import { Random } from "../../helpers/random.js";

function scan(chunks: Buffer[]): WorkflowCommand[] {
  const found: WorkflowCommand[] = [];
  const scanner = new WorkflowCommandScanner((command) => found.push(command));
  for (const chunk of chunks) scanner.push(chunk);
  scanner.end();
  return found;
}

const output = [
  "building std::vector<int> a::b::c\r\n",
  "::add-mask::sécret-🔑-value\r\n",
  "\x1b[32m  ::error file=src/a.js,line=3,col=7,title=Lint::unused %25 here%0Anext\r\n",
  "text :: not a command ::warning::no\r\n",
  ":",
  ":group::Tests\r\n",
  "::stop-commands::pause-token\r\n",
  "::warning::not a command while stopped\r\n",
  "::pause-token::\r\n",
  "::endgroup::\r\n",
  `${"x".repeat(70_000)}::error::an overlong line is not a command\r\n`,
  "::notice::the last line, without its newline",
].join("");

const expected: WorkflowCommand[] = [
  { kind: "mask", value: "sécret-🔑-value" },
  { kind: "error", message: "unused % here\nnext", file: "src/a.js", line: 3, column: 7, title: "Lint" },
  { kind: "group", title: "Tests" },
  { kind: "endgroup" },
  { kind: "notice", message: "the last line, without its newline" },
];

test("commands come out the same read whole, a byte at a time, and in random pieces (seed 5)", () => {
  const bytes = Buffer.from(output);
  assert.deepEqual(scan([bytes]), expected, "whole");
  assert.deepEqual(
    scan([...bytes.subarray(0, 2000)].map((b) => Buffer.from([b])).concat([bytes.subarray(2000)])),
    expected,
    "a byte at a time",
  );
  const random = new Random(5);
  for (let round = 0; round < 200; round++) {
    const chunks: Buffer[] = [];
    const largest = 1 + random.int(round % 2 ? 64 : 8192);
    for (let at = 0; at < bytes.length; ) {
      const size = 1 + random.int(largest);
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    assert.deepEqual(scan(chunks), expected, `round ${round}, pieces of up to ${largest} bytes`);
  }
});
