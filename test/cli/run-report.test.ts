// Regressions in the report `quirectl run --wait` ends with. It showed a failed step's last 8 lines of
// log, so a test runner's failure (the test's name, the failing line, the actual value) scrolled out
// behind its stack trace, although the run's stored failure_summary had them; and a job that passed on a
// retry ended as `✓ flaky complete`, with no sign that it had failed first.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run } from "../../src/runtime/index.js";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let dir: string;
/** A test runner's failure: the test's name and values, then more stack than the last lines would show. */
const FAILING_TEST = [
  "echo 'running 3 tests'",
  "echo 'not ok 2 - adds numbers'",
  "echo '  expected: 42'",
  "echo '  actual: 41'",
  'for i in $(seq 1 10); do echo "    at frame $i (t.js)"; done',
  "exit 1",
];

before(async () => {
  daemon = await startTestDaemon();
  dir = repos.make({
    "quire.yml": [
      "jobs:",
      "  flaky:",
      "    retries: 2",
      "    steps:",
      "      - name: settle",
      "        run: echo x >> tries; test $(wc -l < tries) -ge 2",
      "  test:",
      "    steps:",
      "      - name: unit",
      "        run: |",
      ...FAILING_TEST.map((line) => `          ${line}`),
      "",
    ].join("\n"),
  });
});
after(async () => {
  await daemon?.stop();
});

/** The report: what follows the view, from the run's verdict on. */
function report(output: string): string {
  return output.slice(output.lastIndexOf("\nrun "));
}

function assertReport(text: string): void {
  const lines = text.split(/\r?\n/);
  const failed = lines.findIndex((line) => line.startsWith("✗ test / unit exited 1"));
  assert.ok(failed > 0, text);
  // The summary's lines, in order, under the step's line: the test's name and values are not cut.
  const shown = lines.slice(failed + 1).map((line) => line.trim());
  for (const want of ["not ok 2 - adds numbers", "expected: 42", "actual: 41", "at frame 10 (t.js)"])
    assert.ok(shown.includes(want), `${want} in\n${text}`);
  assert.ok(shown.indexOf("not ok 2 - adds numbers") < shown.indexOf("actual: 41"));
  assert.match(text, /full log: quirectl logs \d+ --job test --step unit/);
  assert.match(text, /^✓ flaky complete \(attempt 2 of 3\) {2}\d/m);
}

test("piped: the failed step's summary lines in full, and the attempt a retried job completed on", async () => {
  const r = await quirectl(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
  assert.equal(r.code, 1, r.stderr);
  assertReport(report(r.stdout));
  assert.match(r.stdout, /flaky active \(attempt 2 of 3\)/);
});

test("in a terminal: the same report after the live view", async () => {
  // --no-cache: the piped test's run of the same tree would serve flaky from the job cache.
  const result = await run(process.execPath, [QUIRECTL, "--home", daemon.home, "run", join(dir, "quire.yml"), "--wait", "--no-cache"], {
    env: { QUIRE_NO_AUTOSTART: "1", QUIRE_HOME: undefined },
    cols: 120,
    rows: 40,
    timeoutMs: 60_000,
  });
  assert.equal(result.exitCode, 1, result.output);
  assertReport(report(result.output));
});

test("runs show names the attempt of a retried job and how many it may have", async () => {
  const list = await quirectl(daemon.home, ["runs", "show", "1"]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^ {2}flaky: complete \(attempt 2 of 3\)/m);
});
