// What a person sees: `quirectl run --wait` in a terminal redraws a live view in place and ends with a
// report that puts failures first; piped, it prints plain lines with no cursor codes.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CiRun, type CiJob, type CiStep } from "../../src/gen/quire/v1/ci.js";
import { shellWord, visible } from "../../src/cli/output.js";
import { frame } from "../../src/cli/run-view.js";
import { run } from "../../src/runtime/index.js";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let dir: string;
before(async () => {
  daemon = await startTestDaemon();
  dir = repos.make({
    "quire.yml":
      "jobs:\n  build:\n    steps:\n      - sleep 0.4; echo built\n  test:\n    needs: [build]\n    steps:\n      - name: unit\n        run: echo 'expected 1, got 2'; exit 1\n",
    "slow-job.yml": "jobs:\n  slow:\n    timeout: 300ms\n    steps:\n      - name: hold\n        run: sleep 30\n",
    "slow-step.yml": "jobs:\n  slow:\n    steps:\n      - name: hold\n        run: sleep 30\n        timeout: 1500ms\n",
  });
});
after(async () => {
  await daemon?.stop();
});

test("in a terminal: a live view redrawn in place, then failures first with their output and log command", async () => {
  const result = await run(process.execPath, [QUIRECTL, "--home", daemon.home, "run", join(dir, "quire.yml"), "--wait"], {
    env: { QUIRE_NO_AUTOSTART: "1", QUIRE_HOME: undefined },
    cols: 100,
    rows: 30,
    timeoutMs: 60_000,
  });
  assert.equal(result.exitCode, 1, result.output);
  // log-update erases the previous frame's lines before drawing the next one.
  assert.match(result.output, /\x1b\[2K/, "the view is redrawn in place");
  const report = result.output.slice(result.output.lastIndexOf("run 1 failed"));
  assert.match(report, /^run \d+ failed \(pipeline-failure\)/);
  const failure = report.indexOf("✗ test / unit exited 1");
  assert.ok(failure > 0, report);
  assert.ok(failure < report.indexOf("✓ build"), "failures come first");
  assert.match(report, /expected 1, got 2/);
  assert.match(report, /full log: quirectl logs \d+ --job test --step unit/);
});

test("piped: plain lines, no cursor codes", async () => {
  // --no-cache: the terminal test's run of the same tree would serve build from the job cache.
  const r = await quirectl(daemon.home, ["run", join(dir, "quire.yml"), "--wait", "--no-cache"]);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stdout, /\x1b/);
  assert.match(r.stdout, /build complete/);
  assert.match(r.stdout, /test \/ unit failed exited 1/);
});

// A job ended by its timeout had no reason on its failure line: `✗ slow / hold` alone, and `hold: failed`.
test("a timeout is named on the failure line of run --wait and runs show: after how long, and whose limit", async () => {
  const job = await quirectl(daemon.home, ["run", join(dir, "slow-job.yml"), "--wait"]);
  assert.equal(job.code, 1, job.stderr);
  assert.match(job.stdout, /^✗ slow \/ hold timed out after 300ms \(the job's timeout\)$/m);
  const id = /^run (\d+) failed \(timeout\)/m.exec(job.stdout)?.[1];
  assert.ok(id, job.stdout);
  const show = await quirectl(daemon.home, ["runs", "show", id]);
  assert.equal(show.code, 0, show.stderr);
  assert.match(show.stdout, /^ {4}hold: failed, timed out after 300ms \(the job's timeout\)$/m);

  const step = await quirectl(daemon.home, ["run", join(dir, "slow-step.yml"), "--wait"]);
  assert.equal(step.code, 1, step.stderr);
  assert.match(step.stdout, /^✗ slow \/ hold timed out after 1500ms$/m);
});

// Every control character: C0 (ESC, BEL, CR, backspace, newline, tab...), DEL and C1 (U+009B is CSI).
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/;
const INJECTION = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\r\b\u009b2J\x7f";

describe("control characters in names are shown, not obeyed", () => {
  test("visible() writes every control character as a caret or \\u escape", () => {
    assert.equal(visible(INJECTION), "^[]0;pwned^G^[[2J^[[31mred^M^H\\u009b2J^?");
    assert.equal(visible("tab\there\nline"), "tab^Ihere^Jline");
    for (let code = 0; code < 0xa0; code++)
      assert.doesNotMatch(visible(`a${String.fromCharCode(code)}b`), CONTROLS, `U+${code.toString(16)}`);
    assert.equal(visible("plain ünïcødé ✓"), "plain ünïcødé ✓");
  });

  test("shellWord() quotes a name with control characters as $'...' that bash reads back exactly", () => {
    for (const word of [INJECTION, "it's \\ a\ttab", "simple", "with space", "'", "\u0085"]) {
      const quoted = shellWord(word);
      assert.doesNotMatch(quoted, CONTROLS, quoted);
      assert.equal(
        execFileSync("bash", ["-c", `printf %s ${quoted}`], { encoding: "utf8", env: { ...process.env, LC_ALL: "C.UTF-8" } }),
        word,
        quoted,
      );
    }
  });

  test("a run's names and annotations with escape sequences, through the live view, the line view, the report and runs show", async () => {
    const repo = repos.make({
      "quire.yml": [
        'name: "ci\\e]0;pwned\\a"',
        "jobs:",
        "  evil:",
        "    steps:",
        '      - name: "\\e[2J\\e[31mwiped\\u009b"',
        "        run: quirectl annotate \"$(printf 'note \\033[2J')\"; exit 3",
      ].join("\n"),
    });
    const live = await run(process.execPath, [QUIRECTL, "--home", daemon.home, "run", join(repo, "quire.yml"), "--wait"], {
      env: { QUIRE_NO_AUTOSTART: "1", QUIRE_HOME: undefined },
      cols: 120,
      rows: 30,
      timeoutMs: 60_000,
    });
    assert.equal(live.exitCode, 1, live.output);
    for (const raw of ["\x1b]0;pwned", "\x1b[2J", "\x1b[31m", "\u009b"])
      assert.ok(!live.output.includes(raw), `live view and report hold ${JSON.stringify(raw)}`);
    assert.match(live.output, /ci\^\[\]0;pwned\^G/);
    assert.match(live.output, /✗ evil \/ \^\[\[2J\^\[\[31mwiped\\u009b exited 3/);
    assert.match(live.output, /full log: quirectl logs \d+ --job evil --step \$'\\x1b\[2J\\x1b\[31mwiped\\u009b'/);
    assert.match(live.output, /note \(evil \/ \^\[\[2J\^\[\[31mwiped\\u009b\): note \^\[\[2J/);

    const piped = await quirectl(daemon.home, ["run", join(repo, "quire.yml"), "--wait"]);
    assert.equal(piped.code, 1);
    assert.doesNotMatch(piped.stdout, CONTROLS_BUT_NEWLINE);
    assert.match(piped.stdout, /evil \/ \^\[\[2J\^\[\[31mwiped\\u009b failed exited 3/);

    const id = (await quirectlJson(daemon.home, ["runs", "--limit", "1"]))[0].id;
    for (const args of [["runs", "show", String(id)], ["runs"], ["logs", String(id), "--job", "evil", "--step", "x"]]) {
      const r = await quirectl(daemon.home, args);
      assert.doesNotMatch(r.stdout + r.stderr, CONTROLS_BUT_NEWLINE, args.join(" "));
      assert.match(r.stdout + r.stderr, /\^\[/, args.join(" "));
    }
  });
});

const CONTROLS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe("the live view fits the terminal", () => {
  const ms = BigInt(Date.now() - 5_000);
  const step = (name: string, state: string): CiStep => ({
    name,
    state,
    hasExitCode: state === "complete" || state === "failed",
    exitCode: state === "failed" ? 1 : 0,
    startedUnixMs: state === "pending" ? 0n : ms,
    finishedUnixMs: state === "complete" || state === "failed" ? ms + 1000n : 0n,
    log: "",
    attempt: 1,
    command: name,
    summary: "",
  });
  const job = (name: string, state: string, steps: CiStep[], needs: string[] = []): CiJob => ({
    name,
    state,
    hasExitCode: false,
    exitCode: 0,
    startedUnixMs: state === "pending" ? 0n : ms,
    finishedUnixMs: state === "active" || state === "pending" ? 0n : ms + 2000n,
    attempt: 1,
    maxAttempts: 1,
    needs,
    steps,
    cachedFrom: 0n,
  });
  const bigRun = () =>
    CiRun.fromPartial({
      id: 7n,
      pipeline: "big",
      ref: "main",
      state: "active",
      createdUnixMs: ms,
      startedUnixMs: ms,
      jobs: [
        ...Array.from({ length: 40 }, (_, i) => job(`done${i}`, "complete", [step("make", "complete")])),
        job("broken", "failed", [step("make", "failed")]),
        job("build", "active", [step("fetch", "complete"), step("compile", "active"), step("link", "pending")]),
        job("lint", "active", [step("eslint", "active")]),
        ...Array.from({ length: 200 }, (_, i) => job(`later${i}`, "pending", [step("make", "pending")], ["build", "lint"])),
      ],
    });

  test("with room for everything, every job and step is shown", () => {
    const lines = frame(bigRun(), "*", Date.now()).split("\n");
    assert.equal(lines.length, 1 + 40 * 2 + 2 + 4 + 2 + 200);
  });

  test("on 12 rows: the header, every active job with its steps, the failed job, and counts of the rest", () => {
    const lines = frame(bigRun(), "*", Date.now(), { rows: 12, columns: 80 }).split("\n");
    assert.ok(lines.length <= 11, lines.join("\n"));
    assert.match(lines[0]!, /^run 7 {2}big {2}main {2}active/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.replace(/ {2}\d+(\.\d)?s/g, "")),
      [
        "  ✗ broken",
        "  * build",
        "      ✓ fetch",
        "      * compile",
        "      · link",
        "  * lint",
        "      * eslint",
        "  ✓ 40 complete, · 200 pending",
      ],
    );
  });

  test("on 7 rows: only running steps, the failed job counted too; lines never wrap", () => {
    const lines = frame(bigRun(), "*", Date.now(), { rows: 7, columns: 36 }).split("\n");
    assert.ok(lines.length <= 6, lines.join("\n"));
    assert.ok(
      lines.every((l) => Array.from(l).length <= 35),
      lines.join("\n"),
    );
    assert.match(lines[0]!, /^run 7 {2}big {2}main {2}active/);
    assert.equal(lines[lines.length - 1], "  ✓ 40 complete, ✗ 1 failed, · 200…");
    // The active jobs' steps no longer fit in full or in short: only the running ones are left.
    assert.deepEqual(
      lines.slice(1, -1).map((l) => l.replace(/ {2}\d+(\.\d)?s/g, "")),
      ["  * build", "      * compile", "  * lint", "      * eslint"],
    );
  });

  test("an active job with more steps than fit shows its active step and counts of the others", () => {
    const steps = [
      ...Array.from({ length: 50 }, (_, i) => step(`s${i}`, "complete")),
      step("now", "active"),
      ...Array.from({ length: 50 }, (_, i) => step(`t${i}`, "pending")),
    ];
    const r = CiRun.fromPartial({
      id: 8n,
      pipeline: "long",
      state: "active",
      startedUnixMs: ms,
      jobs: [job("only", "active", steps), job("next", "pending", [step("x", "pending")])],
    });
    const lines = frame(r, "*", Date.now(), { rows: 10 })
      .split("\n")
      .map((l) => l.replace(/ {2}\d+(\.\d)?s/g, ""));
    assert.deepEqual(lines.slice(1), ["  * only", "      ✓ 50 steps complete", "      * now", "      · 50 steps pending", "  · 1 pending"]);
  });

  test("many active jobs on a tiny terminal: the header stays and the cut is said", () => {
    const r = CiRun.fromPartial({
      id: 9n,
      pipeline: "wide",
      state: "active",
      startedUnixMs: ms,
      jobs: Array.from({ length: 30 }, (_, i) => job(`j${i}`, "active", [step("a", "active")])),
    });
    const lines = frame(r, "*", Date.now(), { rows: 8 }).split("\n");
    assert.equal(lines.length, 7);
    assert.match(lines[0]!, /^run 9 {2}wide/);
    assert.match(lines[6]!, /^ {2}… \d+ more lines$/);
  });

  test("a cached job says which run it is cached from, and shows no steps (none ran); cached jobs are counted apart", () => {
    const cached = { ...job("build", "cached", [step("make", "skipped")]), startedUnixMs: 0n, cachedFrom: 3n };
    const r = CiRun.fromPartial({
      id: 11n,
      pipeline: "p",
      state: "active",
      startedUnixMs: ms,
      jobs: [cached, job("test", "active", [step("t", "active")])],
    });
    assert.deepEqual(
      frame(r, "*", Date.now())
        .split("\n")
        .slice(1)
        .map((l) => l.replace(/ {2}\d+(\.\d)?s/g, "")),
      ["  ✓ build  cached from run 3", "  * test", "      * t"],
    );
    const many = CiRun.fromPartial({
      id: 12n,
      pipeline: "p",
      state: "active",
      startedUnixMs: ms,
      jobs: [...Array.from({ length: 20 }, (_, i) => ({ ...cached, name: `c${i}` })), job("test", "active", [step("t", "active")])],
    });
    assert.match(frame(many, "*", Date.now(), { rows: 6 }), /✓ 20 cached/);
  });

  test("names in the frame are made visible", () => {
    const r = CiRun.fromPartial({
      id: 10n,
      pipeline: `p${INJECTION}`,
      ref: "\x1b[2Jref",
      state: "active",
      jobs: [job("j", "pending", [step("s", "pending")], [`n${INJECTION}`]), job("k", "active", [step(`s${INJECTION}`, "active")])],
    });
    assert.doesNotMatch(frame(r, "*", Date.now()), CONTROLS_BUT_NEWLINE);
    assert.doesNotMatch(frame(r, "*", Date.now(), { rows: 3, columns: 40 }), CONTROLS_BUT_NEWLINE);
  });
});
