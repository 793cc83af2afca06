// What of a workflow job is known only once it is ready, resolved then as GitHub does, through a real
// quired: a matrix computed by an expression from an earlier job's outputs (the "dynamic matrix"), its legs
// becoming jobs of the run with their own names, states and logs; a bad matrix failing its job alone; job
// and step names with `${{ }}` evaluated where their contexts are known.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { eventually } from "../../helpers/eventually.js";
import { Gate } from "../../helpers/gate.js";
import { tempRepos } from "../../helpers/git.js";
import { quirectl, quirectlJson } from "../../helpers/quirectl.js";

const dynamic = (wait: string) => `name: Dynamic
on:
  push:
  workflow_dispatch:
    inputs:
      flavour:
        default: plain
jobs:
  setup:
    runs-on: ubuntu-latest
    outputs:
      matrix: \${{ steps.make.outputs.matrix }}
      letters: \${{ steps.make.outputs.letters }}
    steps:
      - id: make
        run: |
          ${wait}
          echo 'matrix={"node":[20,22],"include":[{"node":22,"extra":"yes"}]}' >> "$GITHUB_OUTPUT"
          echo 'letters=["a","b","c"]' >> "$GITHUB_OUTPUT"
  test:
    needs: setup
    runs-on: ubuntu-latest
    strategy:
      matrix: \${{ fromJSON(needs.setup.outputs.matrix) }}
    env:
      NODE_WANTED: \${{ matrix.node }}
    steps:
      - name: Test on \${{ runner.os }} with node \${{ matrix.node }}
        run: echo "leg node=$NODE_WANTED extra=\${{ matrix.extra }} index=\${{ strategy.job-index }}/\${{ strategy.job-total }}"
  each:
    needs: setup
    runs-on: ubuntu-latest
    strategy:
      max-parallel: 1
      matrix:
        letter: \${{ fromJSON(needs.setup.outputs.letters) }}
        exclude:
          - letter: b
    steps:
      - run: echo "letter \${{ matrix.letter }}"
  report:
    needs: [test, each]
    name: Report \${{ github.workflow }} \${{ inputs.flavour || 'none' }}
    runs-on: ubuntu-latest
    steps:
      - id: first
        run: echo "value=42" >> "$GITHUB_OUTPUT"
      - name: After \${{ steps.first.outputs.value }}
        run: echo "tests were \${{ needs.test.result }}"
  named:
    name: \${{ inputs.missing || 'default' }} job
    runs-on: ubuntu-latest
    steps:
      - run: "true"
`;

const bad = (matrix: string) => `on: push
jobs:
  setup:
    runs-on: ubuntu-latest
    outputs:
      matrix: \${{ steps.make.outputs.matrix }}
    steps:
      - id: make
        run: echo "matrix=${matrix}" >> "$GITHUB_OUTPUT"
  test:
    needs: setup
    runs-on: ubuntu-latest
    strategy:
      matrix: \${{ fromJSON(needs.setup.outputs.matrix) }}
    steps:
      - run: echo "never"
  fine:
    runs-on: ubuntu-latest
    steps:
      - run: echo "independent"
`;

// A secret's value that an earlier job outputs, in a later job's name and in a computed matrix's value.
const leak = `on: push
jobs:
  setup:
    runs-on: ubuntu-latest
    outputs:
      key: \${{ steps.make.outputs.key }}
    steps:
      - id: make
        env:
          KEY: \${{ secrets.LEAK_KEY }}
        run: |
          echo "key=$KEY" >> "$GITHUB_OUTPUT"
  named:
    needs: setup
    name: deploy \${{ needs.setup.outputs.key }}
    runs-on: ubuntu-latest
    steps:
      - run: "true"
  legs:
    needs: setup
    runs-on: ubuntu-latest
    strategy:
      matrix:
        key: \${{ fromJSON(format('["{0}"]', needs.setup.outputs.key)) }}
    steps:
      - run: "true"
`;

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
let gate: Gate;
before(async () => {
  daemon = await startTestDaemon();
  gate = new Gate(repos.dirOutsideTmp("gate"));
  repo = repos.make({
    ".github/workflows/dynamic.yml": dynamic(gate.wait),
    ".github/workflows/leak.yml": leak,
    ".github/workflows/list.yml": bad("[1,2]"),
    ".github/workflows/huge.yml": bad('{\\"a\\":[$(seq -s, 1 17)],\\"b\\":[$(seq -s, 1 17)]}'),
  });
});
after(async () => {
  await daemon?.stop();
});

type JobJson = { name: string; state: string; needs: string[]; steps: { name: string; state: string }[] };
const names = (run: { jobs: JobJson[] }) => run.jobs.map((job) => job.name);

test("a matrix made by an earlier job: one job until its needs end, then a job per leg, each with its values", async () => {
  const submitted = await quirectlJson(daemon.home, ["run", "--workflow", "dynamic", "--no-cache"], 0, { cwd: repo });
  const show = () => quirectlJson(daemon.home, ["runs", "show", String(submitted.id)]);
  // While setup runs, the legs are not known: `test` and `each` are one pending job each, named by their ids,
  // and so is `report`, whose name uses `github`; `named`'s uses only the inputs' defaults.
  const early = await eventually(async () => {
    const run = await show();
    return run.jobs.find((job: JobJson) => job.name === "setup")?.state === "active" && run;
  }, "setup to start");
  assert.deepEqual(names(early), ["setup", "test", "each", "report", "default job"]);
  assert.deepEqual(early.jobs.find((job: JobJson) => job.name === "report").needs, ["test", "each"]);
  gate.open();
  await quirectl(daemon.home, ["watch", String(submitted.id)]);
  const run = await show();
  assert.equal(run.state, "complete", JSON.stringify(run, null, 2));
  assert.deepEqual(names(run), ["setup", "test (20)", "test (22, yes)", "each (a)", "each (c)", "Report Dynamic plain", "default job"]);
  for (const job of run.jobs) assert.equal(job.state, "complete", job.name);
  // The jobs after the legs need every leg.
  assert.deepEqual(run.jobs.find((job: JobJson) => job.name.startsWith("Report")).needs, [
    "test (20)",
    "test (22, yes)",
    "each (a)",
    "each (c)",
  ]);
  const log = async (job: string, step: string) =>
    (await quirectl(daemon.home, ["logs", String(run.id), "--job", job, "--step", step, "--raw"])).stdout;
  // Each leg its own log, its env and matrix and strategy; its step named as it started.
  const leg20 = run.jobs.find((job: JobJson) => job.name === "test (20)");
  assert.equal(leg20.steps[0].name, "Test on Linux with node 20");
  assert.match(await log("test (20)", "Test on Linux with node 20"), /leg node=20 extra= index=0\/2/);
  assert.match(await log("test (22, yes)", "Test on Linux with node 22"), /leg node=22 extra=yes index=1\/2/);
  assert.match(await log("each (c)", 'Run echo "letter c"'), /letter c/);
  const report = run.jobs.find((job: JobJson) => job.name === "Report Dynamic plain");
  assert.deepEqual(
    report.steps.map((step: { name: string }) => step.name),
    ['Run echo "value=42" >> "$GITHUB_OUTPUT"', "After 42"],
  );
  assert.match(await log("Report Dynamic plain", "After 42"), /tests were success/);
  // `--job` names a computed matrix's job by its id, as it does a written one's.
  const picked = await quirectlJson(daemon.home, ["run", "--workflow", "dynamic", "--job", "test", "--wait", "--no-cache"], 0, {
    cwd: repo,
  });
  assert.deepEqual(names(picked), ["setup", "test (20)", "test (22, yes)"]);
});

for (const [workflow, why] of [
  ["list", /the matrix is a list, not a mapping of lists/],
  ["huge", /the matrix has 289 legs; a matrix has at most 256/],
] as const) {
  test(`a computed matrix that cannot be expanded (${workflow}) fails its job saying why; the other jobs run`, async () => {
    const run = await quirectlJson(daemon.home, ["run", "--workflow", workflow, "--wait", "--no-cache"], 1, { cwd: repo });
    assert.equal(run.state, "failed");
    const states = Object.fromEntries(run.jobs.map((job: JobJson) => [job.name, job.state]));
    assert.deepEqual(states, { setup: "complete", test: "failed", fine: "complete" });
    assert.match(run.failure_summary, why);
    const log = await quirectl(daemon.home, ["logs", String(run.id), "--job", "test", "--raw"]);
    assert.match(log.stdout, why);
  });
}

test("a job's name and a computed leg's name made of a secret's value are redacted", async () => {
  assert.equal((await quirectl(daemon.home, ["secret", "set", "LEAK_KEY"], { input: "hush-4711" })).code, 0);
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "leak", "--wait", "--no-cache"], 0, { cwd: repo });
  assert.deepEqual(names(run), ["setup", "deploy ***", "legs (***)"]);
  const listed = await quirectl(daemon.home, ["runs"]);
  assert.doesNotMatch(listed.stdout, /hush-4711/);
});
