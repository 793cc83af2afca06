// No byte is lost when a process exits: 1,000 short commands with known output, 4 at a time.
// (Bare node-pty loses the tail of `cat`'s output in most of these runs: `npm run bench` measures it in bench/runtime.ts.)
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { run } from "../../src/runtime/index.js";

const dir = mkdtempSync(join(tmpdir(), "quire-lossless-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const lines = Array.from({ length: 2000 }, (_, i) => `line ${i} ${"x".repeat(i % 13)}`);
const file = join(dir, "data.txt");
writeFileSync(file, lines.join("\n") + "\n");
const viaPty = lines.join("\r\n") + "\r\n"; // the terminal turns \n into \r\n

const commands: { file: string; args: string[]; expected: string }[] = [
  { file: "cat", args: [file], expected: viaPty },
  { file: "printf", args: ["no newline at the end"], expected: "no newline at the end" },
  { file: "sh", args: ["-c", "echo first; printf 'last bytes'"], expected: "first\r\nlast bytes" },
  { file: "head", args: ["-c", "100000", file], expected: viaPty.replace(/\r/g, "").slice(0, 100000).replace(/\n/g, "\r\n") },
];

async function runMany(total: number, concurrency: number, pty: boolean): Promise<number> {
  let next = 0;
  let checked = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const c = commands[i % commands.length]!;
      const result = await run(c.file, c.args, { pty });
      const expected = pty ? c.expected : c.expected.replace(/\r\n/g, "\n");
      assert.equal(result.exitCode, 0, `run ${i}: ${c.file}`);
      // Compare lengths first: a lost tail would print megabytes otherwise.
      assert.equal(
        result.output.length,
        expected.length,
        `run ${i}: ${c.file} ${c.args.join(" ")} lost ${expected.length - result.output.length} bytes`,
      );
      assert.equal(result.output, expected, `run ${i}`);
      checked++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return checked;
}

test("1,000 short commands in a PTY, 4 at a time: every byte arrives", async () => {
  assert.equal(await runMany(1000, 4, true), 1000);
});

test("200 short commands with pipes, 4 at a time: every byte arrives", async () => {
  assert.equal(await runMany(200, 4, false), 200);
});
