// Regression: the live view of `quirectl run --wait` showed a running step as its name and a spinner and
// nothing else, so 61 s of `npm install` looked stuck. A running step's line now ends with the last line
// of its output as a terminal would render it (`\r` redraws and colours applied), followed from the ci
// service's log stream and rendered at most every 100 ms.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CiRun } from "../../src/gen/quire/v1/ci.js";
import { frame } from "../../src/cli/run-view.js";
import { spawn, type Subprocess } from "../../src/runtime/index.js";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { Gate } from "../helpers/gate.js";
import { tempRepos } from "../helpers/git.js";

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
let gate: Gate;
const terminals: Subprocess[] = [];
before(async () => {
  daemon = await startTestDaemon();
  gate = new Gate(repos.dirOutsideTmp("gate"));
  // Its last line is drawn over with `\r` and coloured: written as it is, "› step 2 of 3" would not appear.
  const install = `printf 'fetching\\n\\033[32mstep 1 of 3\\rstep 2 of 3\\033[0m'; ${gate.wait}`;
  repo = repos.make({
    "quire.yml": `jobs:\n  deps:\n    steps:\n      - name: install\n        run: "${install.replaceAll("\\", "\\\\")}"\n      - name: after\n        run: echo done\n`,
  });
});
after(async () => {
  for (const terminal of terminals) await terminal.kill();
  await daemon?.stop();
});

test("in a terminal, the running step shows its last line of output, rendered", async () => {
  const terminal = spawn(process.execPath, [QUIRECTL, "--home", daemon.home, "run", join(repo, "quire.yml"), "--wait"], {
    env: { QUIRE_NO_AUTOSTART: "1", QUIRE_HOME: undefined },
    cols: 100,
    rows: 30,
  });
  terminals.push(terminal);
  await terminal.expect(/install +\d+\.\ds {2}› step 2 of 3/, { timeoutMs: 30_000 });
  gate.open();
  const result = await terminal.wait();
  assert.equal(result.exitCode, 0, result.output);
  assert.match(result.output, /run \d+ complete/);
});

test("frame(): only a running step gets its last line, made visible and cut with the line", () => {
  const ms = BigInt(Date.now());
  const run = CiRun.fromPartial({
    id: 3n,
    pipeline: "p",
    state: "active",
    startedUnixMs: ms,
    jobs: [
      {
        name: "deps",
        state: "active",
        attempt: 1,
        maxAttempts: 1,
        startedUnixMs: ms,
        steps: [
          { name: "fetch", state: "complete", attempt: 1, startedUnixMs: ms, finishedUnixMs: ms },
          { name: "install", state: "active", attempt: 1, startedUnixMs: ms },
        ],
      },
    ],
  });
  const lines = frame(run, "*", Number(ms), { columns: 60 }, (_job, step) => `${step.name} says \x1b[2J${"x".repeat(60)}`).split("\n");
  assert.equal(lines[2], "      ✓ fetch  0.0s");
  assert.ok(lines[3]!.startsWith("      * install  0.0s  › install says ^[[2Jxxx"), lines[3]);
  assert.ok(lines[3]!.endsWith("x…") && Array.from(lines[3]!).length === 59, lines[3]);
});
