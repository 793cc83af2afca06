// Text that comes from a pipeline file, a step, an annotation or a log is printed inert by every quirectl
// command that shows it to a person. A pipeline refused for a bad job name echoed the name raw
// (`jobs.a<ESC>]0;PWN<BEL><U+202E>: not a valid job name` set the window title and reversed what
// followed), and the bidi controls reached the terminal raw everywhere: in runs, runs show, the report of
// run --wait and watch, logs' headers, doctor and daemon log. Stored data and --json output keep the exact
// text; `logs` prints a step's bytes as they are, on purpose, and only the headers it adds are inert.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { shellWord, visible } from "../../src/cli/output.js";
import { run } from "../../src/runtime/index.js";
import { QUIRECTL, startTestDaemon, tempHome, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

/** A title-setting OSC, a right-to-left override, a left-to-right isolate and a C1 CSI. */
const INJECT = "\x1b]0;PWN\x07\u202e\u2066\u009b";
/** INJECT as escapes in a YAML double-quoted string. */
const YAML_INJECT = "\\e]0;PWN\\a\\u202e\\u2066\\x9b";
/** INJECT as quirectl shows it. */
const SHOWN = "^[]0;PWN^G\\u202e\\u2066\\u009b";
/** What must not reach a terminal from such text: C0 but the newline, DEL, C1 and the bidi controls. */
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** The bidi controls (Unicode's Bidi_Control property). */
const BIDI = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"];

const repos = tempRepos();
const cleanup: string[] = [];
after(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

/** quirectl in a real terminal (a PTY), for the commands that print differently there. */
async function inTerminal(home: string, args: string[]): Promise<{ exitCode: number | null; output: string }> {
  return run(process.execPath, [QUIRECTL, "--home", home, ...args], {
    env: { QUIRE_NO_AUTOSTART: "1", QUIRE_HOME: undefined },
    cols: 200,
    rows: 40,
    timeoutMs: 60_000,
  });
}

function assertInert(text: string, what: string): void {
  assert.doesNotMatch(text, RAW, `${what}: ${JSON.stringify(text)}`);
}

describe("visible() and shellWord() cover the bidi controls", () => {
  test("visible() writes each bidi control as a \\u escape", () => {
    for (const c of BIDI) assert.equal(visible(`a${c}b`), `a\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}b`);
    assert.equal(visible(INJECT), SHOWN);
  });

  test("shellWord() quotes a word holding them as $'...' that bash reads back exactly", () => {
    for (const word of [INJECT, ...BIDI.map((c) => `x${c}y`)]) {
      const quoted = shellWord(word);
      assertInert(quoted, "shellWord");
      assert.equal(
        execFileSync("bash", ["-c", `printf %s ${quoted}`], { encoding: "utf8", env: { ...process.env, LC_ALL: "C.UTF-8" } }),
        word,
        quoted,
      );
    }
  });
});

describe("errors quirectl prints", () => {
  test("a pipeline refused for a bad job name names it inert (exit 2)", async () => {
    const dir = repos.make({ "bad.yml": `jobs:\n  build:\n    steps: [echo]\n  "a${YAML_INJECT}":\n    steps: [echo]\n` });
    const file = join(dir, "bad.yml");
    const r = await quirectl(tempHomeFor(), ["run", file]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `quirectl: ${file}:4:3: jobs.a${SHOWN}: not a valid job name; job names use letters, digits, \`_\` and \`-\` only\n`,
    );
  });

  test("usage errors echo the argument inert (exit 2)", async () => {
    const home = tempHomeFor();
    for (const args of [
      ["runs", "show", `1${INJECT}`],
      ["secret", "set", `A${INJECT}`],
      ["secret", "rm", `A${INJECT}`],
    ]) {
      const r = await quirectl(home, args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assertInert(r.stderr, args.join(" "));
      assert.match(r.stderr, /\\u202e\\u2066\\u009b/, args.join(" "));
    }
  });
});

/** A home for a command that needs no daemon, removed afterwards. */
function tempHomeFor(): string {
  const home = tempHome();
  cleanup.push(home);
  return home;
}

describe("doctor and daemon log, with no daemon", () => {
  test("doctor shows a home whose path holds control characters inert", async () => {
    const parent = tempHomeFor();
    const home = join(parent, `h${INJECT}`);
    const r = await quirectl(home, ["doctor"], { env: { QUIRE_SYSTEMD_USER_DIR: join(parent, "units") } });
    assert.equal(r.code, 1, r.stderr);
    assertInert(r.stdout + r.stderr, "doctor");
    assert.ok(r.stdout.includes(`h${SHOWN}`), r.stdout);
  });

  test("daemon log shows log lines inert, and --json gives them exactly as they are", async () => {
    const home = tempHomeFor();
    const lines = [
      JSON.stringify({ time: "2025-05-01T12:03:04.123Z", level: "warn", component: "ci", msg: `step said ${INJECT}`, run: 7 }),
      `not json ${INJECT}`,
    ];
    const log = `${lines.join("\n")}\n`;
    writeFileSync(join(home, "quired.log"), log);
    const r = await quirectl(home, ["daemon", "log"]);
    assert.equal(r.code, 0, r.stderr);
    assertInert(r.stdout, "daemon log");
    const shown = r.stdout.trimEnd().split("\n");
    assert.match(shown[0]!, new RegExp(`WARN  ci +step said ${escapeRegExp(SHOWN)} run=7$`));
    assert.equal(shown[1], `not json ${SHOWN}`);
    const json = await quirectl(home, ["daemon", "log", "--json"]);
    assert.equal(json.stdout, log);
  });

  test("daemon log's own error names the path inert", async () => {
    const home = join(tempHomeFor(), `h${INJECT}`);
    mkdirSync(home);
    const r = await quirectl(home, ["daemon", "log"]);
    assert.equal(r.code, 1);
    assertInert(r.stderr, "daemon log");
    assert.match(r.stderr, /^quirectl: no daemon log at .*h\^\[\]0;PWN\^G\\u202e\\u2066\\u009b/);
  });
});

describe("with a daemon", () => {
  let daemon: TestDaemon;
  let file: string;
  let runId: number;
  before(async () => {
    daemon = await startTestDaemon();
    const dir = repos.make({
      "quire.yml": [
        `name: "ci${YAML_INJECT}"`,
        "jobs:",
        "  evil:",
        "    steps:",
        `      - name: "step${YAML_INJECT}"`,
        "        run: |",
        "          quirectl annotate \"$(printf 'note \\033]0;PWN\\007\\342\\200\\256\\342\\201\\246\\302\\233')\"",
        "          printf 'boom \\342\\200\\256 reversed \\342\\201\\246 isolated\\n'",
        "          exit 3",
      ].join("\n"),
    });
    file = join(dir, "quire.yml");
  });
  after(async () => {
    await daemon?.stop();
  });

  test("run --wait: the line view and the report, failure lines and annotation included, are inert", async () => {
    const r = await quirectl(daemon.home, ["run", file, "--wait", "--ref", `main${INJECT}`]);
    assert.equal(r.code, 1, r.stderr);
    runId = (await quirectlJson(daemon.home, ["runs", "--limit", "1"]))[0].id;
    assertInert(r.stdout + r.stderr, "run --wait");
    assert.match(r.stdout, /evil \/ step\^\[\]0;PWN\^G\\u202e\\u2066\\u009b failed exited 3/);
    assert.ok(r.stdout.includes(`✗ evil / step${SHOWN} exited 3\n    boom \\u202e reversed \\u2066 isolated\n`), r.stdout);
    assert.ok(r.stdout.includes(`--step $'step\\x1b]0;PWN\\x07\\u202e\\u2066\\u009b'`), r.stdout);
    assert.ok(r.stdout.includes(`note (evil / step${SHOWN}): note ${SHOWN}`), r.stdout);
  });

  test("runs show: names, ref, failure summary and annotation inert; --json keeps the exact text", async () => {
    const r = await quirectl(daemon.home, ["runs", "show", String(runId)]);
    assert.equal(r.code, 0, r.stderr);
    assertInert(r.stdout + r.stderr, "runs show");
    assert.ok(r.stdout.startsWith(`run ${runId}  ci${SHOWN}  failed`), r.stdout);
    assert.ok(r.stdout.includes(`ref main${SHOWN}`), r.stdout);
    assert.ok(r.stdout.includes(`job evil, step "step\\u202e\\u2066" exited 3:\nboom \\u202e reversed \\u2066 isolated\n`), r.stdout);
    const json = await quirectlJson(daemon.home, ["runs", "show", String(runId)]);
    assert.equal(json.pipeline, `ci${INJECT}`);
    assert.equal(json.ref, `main${INJECT}`);
    assert.equal(json.jobs[0].steps[0].name, `step${INJECT}`);
    assert.equal(json.annotations[0].text, `note ${INJECT}`);
    assert.match(json.failure_summary, /boom \u202e reversed \u2066 isolated$/);
  });

  test("run without --wait, runs, and watch (piped and in a terminal) are inert", async () => {
    const submitted = await quirectl(daemon.home, ["run", file, "--ref", `other${INJECT}`]);
    assert.equal(submitted.code, 0, submitted.stderr);
    assertInert(submitted.stdout, "run");
    assert.match(submitted.stdout, new RegExp(`^run (\\d+) \\w+: ci${escapeRegExp(SHOWN)} on other${escapeRegExp(SHOWN)}\n`));
    const id = /^run (\d+)/.exec(submitted.stdout)![1]!;

    const watched = await quirectl(daemon.home, ["watch", id]);
    assert.equal(watched.code, 1, watched.stderr);
    assertInert(watched.stdout + watched.stderr, "watch");
    assert.ok(watched.stdout.includes(`✗ evil / step${SHOWN} exited 3\n    boom \\u202e reversed \\u2066 isolated\n`), watched.stdout);

    const live = await inTerminal(daemon.home, ["watch", id]);
    assert.equal(live.exitCode, 1, live.output);
    for (const raw of ["\x1b]0;PWN", ...BIDI, "\u009b"])
      assert.ok(!live.output.includes(raw), `watch in a terminal printed ${JSON.stringify(raw)}`);
    assert.ok(live.output.includes(`ci${SHOWN}`), live.output);
    assert.ok(live.output.includes(`✗ evil / step${SHOWN} exited 3`), live.output);

    const list = await quirectl(daemon.home, ["runs"]);
    assert.equal(list.code, 0, list.stderr);
    assertInert(list.stdout, "runs");
    assert.match(
      list.stdout,
      new RegExp(`^${id} +failed \\(pipeline-failure\\) +ci${escapeRegExp(SHOWN)} +other${escapeRegExp(SHOWN)} `, "m"),
    );
  });

  test("logs: the headers quirectl adds are inert, the step's bytes are printed as they are", async () => {
    const r = await inTerminal(daemon.home, ["logs", String(runId)]);
    assert.equal(r.exitCode, 0, r.output);
    const headers = r.output.split("\r\n").filter((line) => line.startsWith("==>"));
    assert.deepEqual(headers, [`==> evil / step${SHOWN} <==`]);
    assert.ok(r.output.includes("boom \u202e reversed \u2066 isolated"), "a log is its step's bytes");
    const missing = await quirectl(daemon.home, ["logs", String(runId), "--job", `x${INJECT}`]);
    assert.equal(missing.code, 1);
    assertInert(missing.stderr, "logs --job");
    assert.equal(missing.stderr, `quirectl: run ${runId} has no job x${SHOWN}; its jobs: evil\n`);
  });

  test("ps shows a session's command inert; --json keeps it exactly", async () => {
    const command = ["sh", "-c", `sleep 60 # ${INJECT}`];
    const started = await quirectl(daemon.home, ["start", "inert", "--", ...command]);
    assert.equal(started.code, 0, started.stderr);
    try {
      const r = await quirectl(daemon.home, ["ps"]);
      assert.equal(r.code, 0, r.stderr);
      assertInert(r.stdout, "ps");
      assert.match(r.stdout, new RegExp(`^inert .* sh -c sleep 60 # ${escapeRegExp(SHOWN)}$`, "m"));
      const [session] = await quirectlJson(daemon.home, ["ps"]);
      assert.deepEqual(session.command, command);
    } finally {
      await quirectl(daemon.home, ["kill", "inert"]);
    }
  });

  test("the daemon's refusals echo what was typed inert", async () => {
    const r = await quirectl(daemon.home, ["kill", `x${INJECT}`]);
    assert.equal(r.code, 1);
    assertInert(r.stderr, "kill");
    assert.match(r.stderr, /no session named "x\^\[\]0;PWN\^G\\u202e\\u2066\\u009b"/);
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}
