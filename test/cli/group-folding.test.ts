// A workflow step's `::group::title` / `::endgroup::` folded where a person reads its output: the live view's
// running step shows the open group's title (as GitHub shows a collapsed group), the report and piped output
// show a group's first line as `▸ title` and never the raw marker, and `quirectl logs` keeps the exact bytes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { foldGroupLines } from "../../src/ci/output/workflow-commands.js";
import { spawn, type Subprocess } from "../../src/runtime/index.js";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { Gate } from "../helpers/gate.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
let gate: Gate;
const terminals: Subprocess[] = [];

const workflow = (wait: string) => `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - name: install
        run: |
          echo "::group::Install dependencies"
          echo "added 12 packages"
          ${wait}
          echo "::endgroup::"
          echo "::group::Check"
          echo "audit found 1 problem"
          echo "::endgroup::"
          exit 4
`;

before(async () => {
  daemon = await startTestDaemon();
  gate = new Gate(repos.dirOutsideTmp("gate"));
  repo = repos.make({ ".github/workflows/ci.yml": workflow(gate.wait), ".github/workflows/piped.yml": workflow("true") });
});
after(async () => {
  for (const terminal of terminals) await terminal.kill();
  await daemon?.stop();
});

test("in a terminal, a step inside a group shows the group's title; the report shows the groups folded", async () => {
  const terminal = spawn(process.execPath, [QUIRECTL, "--home", daemon.home, "run", "--workflow", "ci", "--wait", "--no-cache"], {
    env: { QUIRE_NO_AUTOSTART: "1", QUIRE_HOME: undefined },
    cwd: repo,
    cols: 120,
    rows: 30,
  });
  terminals.push(terminal);
  await terminal.expect(/install +\d+\.\ds {2}› ▸ Install dependencies/, { timeoutMs: 30_000 });
  gate.open();
  const result = await terminal.wait();
  assert.equal(result.exitCode, 1, result.output);
  assert.match(result.output, /▸ Check\s+audit found 1 problem/);
  assert.doesNotMatch(result.output, /::(end)?group::/);
});

test("piped, the report shows the groups folded; `quirectl logs` keeps every byte the step printed", async () => {
  const run = await quirectl(daemon.home, ["run", "--workflow", "piped", "--wait", "--no-cache"], { cwd: repo });
  assert.equal(run.code, 1, run.stderr + run.stdout);
  assert.match(run.stdout, /▸ Install dependencies/);
  assert.match(run.stdout, /▸ Check/);
  assert.doesNotMatch(run.stdout, /::(end)?group::/);
  const id = /run (\d+)/.exec(run.stdout)![1]!;
  const log = await quirectl(daemon.home, ["logs", id, "--job", "build", "--step", "install"]);
  assert.match(log.stdout, /::group::Install dependencies\r?\nadded 12 packages\r?\n::endgroup::\r?\n::group::Check\r?\n/);
});

test("foldGroupLines(): a group line becomes its title, an endgroup line goes, stop-commands holds", () => {
  assert.deepEqual(
    foldGroupLines(["::group::Build", "compiled", "::endgroup::", "::stop-commands::tok", "::group::not a group", "::tok::", "done"]),
    ["▸ Build", "compiled", "::stop-commands::tok", "::group::not a group", "::tok::", "done"],
  );
});
