// quirectl's CI commands against bad arguments and odd pipeline files, through the real binary with no
// daemon: usage errors exit 2 with one sentence, never a stack trace, before anything is sent.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { tempHome } from "../helpers/daemon.js";
import { quirectl, type CliResult } from "../helpers/quirectl.js";

const cleanup: string[] = [];
after(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

/** Exit 2, one line on stderr matching `said` (then the --help hint), nothing on stdout, no stack trace. */
function assertUsage(r: CliResult, said: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}, stderr: ${r.stderr}`);
  assert.equal(r.stdout, "", what);
  assert.match(r.stderr.split("\n")[0]!, said, what);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: a stack trace`);
}

describe("usage errors are refused before any call (no daemon running)", () => {
  const home = tempHome();
  cleanup.push(home);

  test("run ids that are not positive safe integers, for runs show, logs, watch and cancel", async () => {
    // Every bad form through `runs show`, and the commonest through each other command (each is a process).
    const cases: [string[], string][] = [
      ...["abc", "1.5", "-1", "0", "99999999999999999999", "9007199254740993", "1e3", "0x10", ""].map((id): [string[], string] => [
        ["runs", "show"],
        id,
      ]),
      [["logs"], "abc"],
      [["watch"], "-1"],
      [["cancel"], "1.5"],
    ];
    for (const [command, id] of cases) {
      const r = await quirectl(home, [...command, id]);
      assertUsage(r, /a run id must be a positive whole number/, `${command.join(" ")} ${id}`);
      assert.ok(r.stderr.includes(`got ${JSON.stringify(id)}`), r.stderr);
    }
  });

  test("--limit that is not a positive integer", async () => {
    for (const limit of ["-5", "abc", "0", "2.5"])
      assertUsage(await quirectl(home, ["runs", "--limit", limit]), /--limit must be a positive whole number/, `--limit ${limit}`);
  });

  test("secret names are checked client-side; set and rm", async () => {
    for (const name of ["lower", "1ABC", "A-B", ""]) {
      assertUsage(await quirectl(home, ["secret", "set", name], { input: "value\n" }), /is not a secret name/, `secret set ${name}`);
    }
    assertUsage(await quirectl(home, ["secret", "rm", "lower"]), /is not a secret name/, "secret rm lower");
  });

  // Regression: `secret set FOO bar` said `Unknown argument: bar`, leaving the person to guess how a value is given.
  test("a secret's value on the command line is refused with how to give it on stdin, and is not echoed", async () => {
    for (const extra of [["s3cret-value"], ["--", "s3cret-value"], ["s3cret", "value"]]) {
      const r = await quirectl(home, ["secret", "set", "TOKEN", ...extra], { input: "from stdin\n" });
      assertUsage(r, /^quirectl: the value of secret TOKEN is read from stdin, never from the command line/, extra.join(" "));
      assert.ok(r.stderr.includes('printf %s "$VALUE" | quirectl secret set TOKEN'), r.stderr);
      assert.ok(r.stderr.includes("quirectl secret set TOKEN < FILE"), r.stderr);
      assert.ok(!r.stderr.includes("s3cret"), "the value is not printed back");
    }
    assertUsage(
      await quirectl(home, ["secret", "set", "TOKEN", "--bogus"], { input: "value\n" }),
      /Unknown argument: bogus/,
      "an unknown option is still one",
    );
  });

  test("secret values that are empty, shorter than 3 bytes or over 64 KiB", async () => {
    for (const input of ["", "ab\n", "é"]) {
      assertUsage(
        await quirectl(home, ["secret", "set", "TOKEN"], { input }),
        /value for TOKEN is (empty|\d bytes?: a secret must be at least 3 bytes, or quire could not redact it)/,
        JSON.stringify(input),
      );
    }
    assertUsage(
      await quirectl(home, ["secret", "set", "TOKEN"], { input: "x".repeat(64 * 1024 + 1) }),
      /over 65536 bytes \(64 KiB\): it would not fit in a step's environment/,
      "64 KiB + 1",
    );
  });

  test('annotate "" and annotate with blanks only', async () => {
    for (const text of ["", "  "])
      assertUsage(
        await quirectl(home, ["annotate", text], { env: { QUIRE_RUN_TOKEN: "00".repeat(32) } }),
        /annotate needs some text/,
        JSON.stringify(text),
      );
  });

  test("annotate outside a pipeline step says so, and only a bad argument points at --help", async () => {
    const outside = await quirectl(home, ["annotate", "a note"], { env: { QUIRE_RUN_TOKEN: "" } });
    assertUsage(outside, /^quirectl: annotate works inside a pipeline step \(QUIRE_RUN_TOKEN is not set\)$/, "annotate outside a step");
    assert.doesNotMatch(outside.stderr, /--help/);
    const bad = await quirectl(home, ["annotate", ""], { env: { QUIRE_RUN_TOKEN: "00".repeat(32) } });
    assert.match(bad.stderr, /\nRun quirectl --help for usage\.\n$/);
  });

  // Regression: an unquoted `run: echo a: b` got yaml's "Nested mappings are not allowed" and "fix the syntax
  // there", without the hint to quote that a `: ` met elsewhere in a step gets.
  test("a `: ` in an unquoted command is refused with the hint to quote it", async () => {
    const cases: [string, string][] = [
      ["jobs:\n  a:\n    steps:\n      - run: echo a: b\n", "4:14"],
      ["jobs:\n  a:\n    steps:\n      - echo a: b: c\n", "4:17"],
      ["jobs:\n  a:\n    steps: [echo a: b: c]\n", "3:21"],
    ];
    for (const [text, at] of cases) {
      const file = join(home, "colon.yml");
      writeFileSync(file, text);
      const r = await quirectl(home, ["run", file]);
      assertUsage(
        r,
        new RegExp(
          `colon\\.yml:${at}: invalid YAML: .*; a \`: \` in an unquoted value starts a mapping: put the whole value in quotes \\(\`run: 'echo a: b'\`\\)`,
        ),
        text,
      );
    }
  });

  test("a pipeline file that is a FIFO, a directory or over 1 MiB is refused without reading (no hang)", async () => {
    const fifo = join(home, "fifo.yml");
    execFileSync("mkfifo", [fifo]);
    assertUsage(await quirectl(home, ["run", fifo], { timeoutMs: 20_000 }), /fifo\.yml: not a regular file \(a FIFO\)/, "FIFO");
    assertUsage(await quirectl(home, ["run", home]), /not a regular file \(a directory\)/, "directory");
    const big = join(home, "big.yml");
    writeFileSync(big, "jobs:\n  a:\n    steps: [x]\n" + "#".repeat(1024 * 1024));
    assertUsage(
      await quirectl(home, ["run", big]),
      /big\.yml: the file is 1048602 bytes; a pipeline file is at most 1048576 bytes/,
      "1 MiB",
    );
  });
});
