// run --wait rings the terminal bell at the end: in a real terminal (a PTY), for a run that took longer
// than bell.after, unless bell.enabled is off; never when stdout is not a terminal.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { run } from "../../src/runtime/index.js";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
before(async () => {
  daemon = await startTestDaemon();
  repo = repos.make({ "quire.yml": "jobs:\n  a:\n    steps:\n      - echo ok\n" });
});
after(async () => {
  await daemon?.stop();
});

/** `quirectl run --wait` in a terminal with `config` as the configuration file: its output. */
async function inTerminal(config: string): Promise<string> {
  writeFileSync(join(daemon.home, "config.yml"), config);
  const result = await run(process.execPath, [QUIRECTL, "--home", daemon.home, "run", "--wait"], {
    cwd: repo,
    env: { ...process.env, QUIRE_HOME: "", QUIRE_NO_AUTOSTART: "1" },
    timeoutMs: 60_000,
  });
  assert.equal(result.exitCode, 0, result.output);
  return result.output;
}

test("the bell rings for a run longer than bell.after, not for a shorter one, nor when it is off", async () => {
  assert.ok((await inTerminal("bell:\n  after: 0s\n")).includes("\x07"), "a run of at least 0 s rings");
  assert.ok(!(await inTerminal("bell:\n  after: 1h\n")).includes("\x07"), "a run under an hour does not");
  assert.ok(!(await inTerminal("bell:\n  after: 0s\n  enabled: false\n")).includes("\x07"), "bell.enabled false");
});

test("no bell when stdout is not a terminal", async () => {
  writeFileSync(join(daemon.home, "config.yml"), "bell:\n  after: 0s\n");
  const r = await quirectl(daemon.home, ["run", "--wait"], { cwd: repo });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!r.stdout.includes("\x07"));
});
