// A step that ends on the alternate screen (a full-screen program, `\x1b[?1049h`, that fails there
// without switching back) was summarised "(no output)": renderTail read the screen the terminal showed
// last, the blank alternate one, and the lines printed before the switch were lost. The summary and the
// report now show the main screen's last lines.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { renderTail } from "../../../src/ci/output/screen.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { tempRepos } from "../../helpers/git.js";
import { quirectl, quirectlJson } from "../../helpers/quirectl.js";

const repos = tempRepos();
const ENTER_ALTERNATE = "\x1b[?1049h";
const LEAVE_ALTERNATE = "\x1b[?1049l";

describe("renderTail and the alternate screen", () => {
  const text = (s: string) => Buffer.from(s);

  test("output ending on the alternate screen renders the main screen's last lines", async () => {
    const output = `compiling\r\nerror: the build broke\r\n${ENTER_ALTERNATE}\x1b[2J\x1b[H`;
    assert.deepEqual(await renderTail(text(output)), ["compiling", "error: the build broke"]);
  });

  test("what a full-screen program drew on the alternate screen is not taken for the main screen's", async () => {
    const output = `before\r\n${ENTER_ALTERNATE}\x1b[2J\x1b[H┌ menu ┐\r\n│ item │\r\n`;
    assert.deepEqual(await renderTail(text(output)), ["before"]);
  });

  test("a program that left the alternate screen again: the main screen as it was, and what came after", async () => {
    const output = `before\r\n${ENTER_ALTERNATE}\x1b[2J\x1b[Hdrawn\r\n${LEAVE_ALTERNATE}after\r\n`;
    assert.deepEqual(await renderTail(text(output)), ["before", "after"]);
  });

  test("output only ever written on the alternate screen is still shown", async () => {
    assert.deepEqual(await renderTail(text(`${ENTER_ALTERNATE}\x1b[Hfatal: no terminal size\r\n`)), ["fatal: no terminal size"]);
  });
});

describe("a step that fails on the alternate screen, end to end", () => {
  let daemon: TestDaemon;
  let dir: string;
  before(async () => {
    daemon = await startTestDaemon();
    dir = repos.make({
      "quire.yml": [
        "jobs:",
        "  ui:",
        "    steps:",
        "      - name: full-screen",
        "        run: |",
        "          printf 'compiling\\nerror: the build broke\\n'",
        "          printf '\\033[?1049h\\033[2J\\033[H'",
        "          exit 4",
      ].join("\n"),
    });
  });
  after(async () => {
    await daemon?.stop();
  });

  test("failure_summary, runs show and the run --wait report show the main screen's last lines", async () => {
    const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"], 1);
    assert.equal(run.failure_summary, 'job ui, step "full-screen" exited 4:\ncompiling\nerror: the build broke');

    const show = await quirectl(daemon.home, ["runs", "show", String(run.id)]);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /exited 4:\ncompiling\nerror: the build broke\n/);

    const report = await quirectl(daemon.home, ["watch", String(run.id)]);
    assert.equal(report.code, 1, report.stderr);
    assert.match(report.stdout, /✗ ui \/ full-screen exited 4\n {4}compiling\n {4}error: the build broke\n {4}full log:/);
  });
});
