// What a person sees: `quirectl run --wait` in a terminal redraws a live view in place and ends with a
// report that puts failures first; piped, it prints plain lines with no cursor codes.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run } from "../../src/runtime/index.js";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { makeRepo } from "../helpers/git.js";
import { quirectl } from "../helpers/quirectl.js";

let daemon: TestDaemon;
let dir: string;
before(async () => {
  daemon = await startTestDaemon();
  dir = makeRepo({
    "quire.yml": "jobs:\n  build:\n    steps:\n      - sleep 0.4; echo built\n  test:\n    needs: [build]\n    steps:\n      - name: unit\n        run: echo 'expected 1, got 2'; exit 1\n",
  });
});
after(async () => {
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
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
  const r = await quirectl(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stdout, /\x1b/);
  assert.match(r.stdout, /build complete/);
  assert.match(r.stdout, /test \/ unit failed exited 1/);
});
