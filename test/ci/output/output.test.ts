// CI output: the rendered tail of a log, the failure summary, step logs (redaction: redact.test.ts).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { followLog, StepLog } from "../../../src/ci/output/log-file.js";
import { renderTail } from "../../../src/ci/output/screen.js";
import { failureSummary, stripAnsi, summaryEnding, type FailedStep } from "../../../src/ci/output/summary.js";
import { SUMMARY_MAX } from "../../../src/ci/rules.js";
import { run } from "../../../src/runtime/index.js";
import { eventually } from "../../helpers/eventually.js";
import { Random } from "../../helpers/random.js";

const dir = mkdtempSync(join(tmpdir(), "quire-output-"));
after(() => rmSync(dir, { recursive: true, force: true }));

describe("renderTail", () => {
  const text = (s: string) => Buffer.from(s);

  test("a progress bar drawn with \\r resolves to its last state", async () => {
    let bar = "building\r\n";
    for (let percent = 0; percent <= 100; percent += 10) bar += `\r\x1b[Kprogress ${percent}%`;
    bar += "\r\n\rdownloading 100/100\r\x1b[Kok\r\ndone\r\n";
    assert.deepEqual(await renderTail(text(bar)), ["building", "progress 100%", "ok", "done"]);
  });

  test("cursor-up redraws replace the lines they move back to", async () => {
    const redraw = "one\r\ntwo\r\nthree\r\n\x1b[2A\x1b[2KTWO\r\n\x1b[1B";
    assert.deepEqual(await renderTail(text(redraw)), ["one", "TWO", "three"]);
  });

  test("colours and other attributes are gone", async () => {
    const coloured = "\x1b[31mred\x1b[0m \x1b[1;32mbold green\x1b[m \x1b[38;5;208morange\x1b[39m\r\n";
    assert.deepEqual(await renderTail(text(coloured)), ["red bold green orange"]);
  });

  test("a bare \\n starts a new line at the left edge", async () => {
    assert.deepEqual(await renderTail(text("first\nsecond\n\nfourth\n\n\n")), ["first", "second", "", "fourth"]);
  });

  test("long output keeps its last lines, scrollback included", async () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${i}`);
    assert.deepEqual(await renderTail(text(lines.join("\r\n") + "\r\n"), 80, 10), lines.slice(-10));
    // The screen was cleared and the cursor sent home; the last lines are still the ones printed last.
    assert.deepEqual(await renderTail(text("a\r\nb\r\n\x1b[2J\x1b[Hc\r\n"), 80, 10), ["c"]);
  });

  test("a line longer than the terminal is wide comes back whole", async () => {
    const long = "x".repeat(119) + " " + "y".repeat(180);
    assert.deepEqual(await renderTail(text(`${long}\r\nnext\r\n`), 120, 10), [long, "next"]);
  });

  test("only the last 64 KiB are rendered, starting at a clean point", async () => {
    let progress = "";
    let last = 0;
    for (let i = 0; progress.length < 100 * 1024; i++, last = i - 1) progress += `\r\x1b[2K\x1b[32mprogress ${i}\x1b[0m`;
    assert.deepEqual(await renderTail(text("head\r\n" + progress + "\r\n")), [`progress ${last}`]);
    // No line break, carriage return or escape to start at, and the cut falls inside a character.
    const accents = Buffer.from("é".repeat(40_000) + "z");
    const [line, ...rest] = await renderTail(accents);
    assert.equal(rest.length, 0);
    assert.match(line!, /^é+z$/);
  });

  test('rendering 20 KB of random bytes logs nothing (xterm\'s "Parsing error" dump is off)', async () => {
    const said: string[] = [];
    const methods = ["log", "info", "warn", "error", "debug", "trace"] as const;
    const saved = methods.map((m) => console[m]);
    const write = process.stderr.write;
    for (const m of methods) console[m] = (...args: unknown[]) => void said.push(`console.${m}: ${args.join(" ")}`);
    process.stderr.write = ((chunk: unknown) => (said.push(`stderr: ${String(chunk)}`), true)) as typeof process.stderr.write;
    try {
      for (const seed of [1, 2, 3]) await renderTail(new Random(seed).bytes(20_000));
      // Bytes that reach the parser's error state for certain: a DCS with too many parameters, and C1 bytes.
      await renderTail(Buffer.from("\x1bP" + "1;".repeat(40) + "q\x1b\\\x90\x9b99999999999999m"));
    } finally {
      for (const [i, m] of methods.entries()) console[m] = saved[i]!;
      process.stderr.write = write;
    }
    assert.deepEqual(said, []);
  });

  test("the rendered tail of real PTY output: \\r progress bar, cursor-up redraws, colours", async () => {
    const steps = ["#    ", "##   ", "###  ", "#### ", "#####"];
    const script = [
      "printf 'start\\n'",
      ...steps.map((bar, i) => `printf '\\r[%s] %s%%' '${bar}' ${(i + 1) * 20}`),
      "printf '\\n'",
      "printf 'a: waiting\\nb: waiting\\n'",
      "printf '\\033[2A\\033[2Ka: done\\n\\033[2Kb: done\\n'",
      "printf '\\033[1;31mFAILED\\033[0m\\n'",
    ].join("; ");
    const { output, exitCode } = await run("sh", ["-c", script], { pty: true });
    assert.equal(exitCode, 0);
    assert.ok(output.includes("\r\n"), "a PTY ends lines with \\r\\n");
    assert.deepEqual(await renderTail(Buffer.from(output)), ["start", "[#####] 100%", "a: done", "b: done", "FAILED"]);
  });
});

describe("failureSummary", () => {
  const step = (tail: string[], more: Partial<FailedStep> = {}): FailedStep => ({
    job: "test",
    step: "npm test",
    exitCode: 1,
    signal: null,
    timedOut: false,
    tail,
    ...more,
  });

  test("names the job, the step and how it ended, then the last lines", () => {
    assert.equal(failureSummary(step(["ok 1", "not ok 2", ""])), 'job test, step "npm test" exited 1:\nok 1\nnot ok 2');
    assert.equal(
      failureSummary(step([], { exitCode: null, signal: "SIGKILL" })),
      'job test, step "npm test" was killed by SIGKILL (no output)',
    );
    assert.match(
      failureSummary(step(["x"], { exitCode: null, signal: "SIGTERM", timedOut: "wall" })),
      /^job test, step "npm test" timed out:\n/,
    );
    assert.match(failureSummary(step(["x"], { timedOut: "idle" })), /timed out waiting for output:/);
    assert.match(failureSummary(step(["x"], { exitCode: null })), /" failed:\nx$/);
  });

  test("a timeout says after how long, and whose it was; summaryEnding gives the header's ending back for its step alone", () => {
    const timedOut = (ms: number, of: "step" | "job") =>
      failureSummary(step(["x"], { exitCode: null, signal: "SIGINT", timedOut: "wall", timeout: { ms, of } }));
    assert.equal(timedOut(300_000, "step"), 'job test, step "npm test" timed out after 5m:\nx');
    assert.equal(timedOut(5_400_000, "job"), `job test, step "npm test" timed out after 1h30m (the job's timeout):\nx`);
    assert.match(timedOut(90_000, "step"), /timed out after 1m30s:/);
    assert.match(timedOut(500, "step"), /timed out after 500ms:/);
    assert.match(timedOut(1_500, "step"), /timed out after 1500ms:/);
    assert.equal(summaryEnding(timedOut(300_000, "job"), "test", "npm test"), "timed out after 5m (the job's timeout)");
    assert.equal(summaryEnding(failureSummary(step([])), "test", "npm test"), "exited 1");
    assert.equal(summaryEnding(timedOut(300_000, "job"), "test", "npm"), undefined);
    assert.equal(summaryEnding(timedOut(300_000, "job"), "tes", "npm test"), undefined);
    const long = { job: "j".repeat(200), step: "a\tstep\x1b[31m".repeat(20) };
    assert.equal(
      summaryEnding(failureSummary(step([], { ...long, timedOut: "wall", timeout: { ms: 1_000, of: "step" } })), long.job, long.step),
      "timed out after 1s",
    );
  });

  test("colours and control characters in the tail are removed", () => {
    assert.equal(failureSummary(step(["\x1b[31merror\x1b[0m:\tboom\x07\r"])), 'job test, step "npm test" exited 1:\nerror: boom');
  });

  test("many lines: the last ones that fit, dropped from the top", () => {
    const lines = Array.from({ length: 1000 }, (_, i) => `line ${i}`);
    const summary = failureSummary(step(lines));
    assert.ok(summary.length <= SUMMARY_MAX, `${summary.length} characters`);
    const [header, ...body] = summary.split("\n");
    assert.equal(header, 'job test, step "npm test" exited 1:');
    assert.deepEqual(body, lines.slice(-body.length));
    assert.ok(summary.length + "line 999\n".length > SUMMARY_MAX, "as many as fit");
  });

  test("long lines: the header is intact and the last line keeps its end", () => {
    const long = "start " + "x".repeat(5000) + " the end";
    const summary = failureSummary(step([long]));
    assert.equal(summary.length, SUMMARY_MAX);
    assert.ok(summary.startsWith('job test, step "npm test" exited 1:\n…'));
    assert.ok(summary.endsWith("x the end"));
    // A long line above the last ones is dropped whole.
    assert.equal(failureSummary(step([long, "short"])), 'job test, step "npm test" exited 1:\nshort');
    // Names are shortened so the header always fits, and a cut never splits a character.
    const huge = failureSummary(step(["🔥".repeat(2000)], { job: "j".repeat(1000), step: "s\n".repeat(1000) }));
    assert.ok(huge.length <= SUMMARY_MAX);
    assert.doesNotMatch(huge, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
    assert.match(huge.split("\n")[0]!, /^job j+…, step "(s )+s?…" exited 1:$/);
  });

  test("stripAnsi removes escape sequences and keeps the text", () => {
    assert.equal(stripAnsi("\x1b[1;31mred\x1b[0m \x1b[2K\x1b[10;5Hmoved"), "red moved");
    assert.equal(stripAnsi("\x1b]0;title\x07\x1b]8;;https://x.test\x1b\\link\x1b]8;;\x1b\\ \x1b(Bdone"), "link done");
  });
});

describe("StepLog and followLog", () => {
  test("a step log is 0600 in a 0700 directory and holds the redacted output", { skip: process.platform === "win32" }, async () => {
    const path = join(dir, "logs", "run-1", "job-test", "1-0.log");
    const log = StepLog.open(path, ["hunter2"]);
    for (const piece of ["password: hun", "te", "r2\r\n", "bye hunt"]) log.write(Buffer.from(piece));
    await log.close();
    await log.close();
    assert.equal(readFileSync(path, "utf8"), "password: ***\r\nbye hunt");
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "logs", "run-1", "job-test")).mode & 0o777, 0o700);
    assert.throws(() => log.write(Buffer.from("late")), { code: "QUIRE_ERR_LOG_CLOSED" });
  });

  test("a log that cannot be created is a typed error naming the path", () => {
    const blocker = join(dir, "a-file");
    writeFileSync(blocker, "");
    assert.throws(() => StepLog.open(join(blocker, "x.log")), { code: "QUIRE_ERR_LOG_FILE", path: join(blocker, "x.log") });
  });

  test("a follower sees every byte of a log written in pieces while it follows, and ends when the step does", async () => {
    const path = join(dir, "follow", "step.log");
    let live = true;
    const received: Buffer[] = [];
    let receivedBytes = 0;
    const following = followLog(
      path,
      (chunk) => {
        received.push(chunk);
        receivedBytes += chunk.length;
      },
      () => live,
      new AbortController().signal,
    );

    // The follower starts before the log exists.
    await new Promise((resolve) => setImmediate(resolve));
    const log = StepLog.open(path);
    const written: Buffer[] = [];
    let writtenBytes = 0;
    for (let i = 0; i < 200; i++) {
      const piece = Buffer.from(`piece ${i} `.repeat(1 + (i % 7)) + (i % 5 === 0 ? "\n" : ""));
      log.write(piece);
      written.push(piece);
      writtenBytes += piece.length;
      // Every so often, wait until the follower has caught up, so it is reading while the log grows.
      if (i % 20 === 0) await eventually(() => receivedBytes >= writtenBytes, "the follower to catch up");
      else await new Promise((resolve) => setImmediate(resolve));
    }
    await log.close();
    live = false;
    const offset = await following;
    assert.equal(offset, writtenBytes);
    assert.ok(Buffer.concat(received).equals(Buffer.concat(written)));
  });

  test("following starts at an offset, and a finished or missing log ends at once", async () => {
    const path = join(dir, "done.log");
    writeFileSync(path, "hello world");
    const received: string[] = [];
    assert.equal(
      await followLog(
        path,
        (chunk) => void received.push(chunk.toString()),
        () => false,
        new AbortController().signal,
        6,
      ),
      11,
    );
    assert.deepEqual(received, ["world"]);
    assert.equal(
      await followLog(
        join(dir, "missing.log"),
        () => assert.fail("no bytes"),
        () => false,
        new AbortController().signal,
      ),
      0,
    );
  });

  test("aborting ends a follow of a live log with the offset reached", async () => {
    const path = join(dir, "aborted.log");
    writeFileSync(path, "so far");
    const controller = new AbortController();
    const offset = await followLog(
      path,
      () => controller.abort(),
      () => true,
      controller.signal,
    );
    assert.equal(offset, 6);
  });
});
