// GitHub workflow files run as they are, on the host: a real quired, real PTYs, a real git repository,
// driven through quirectl as a person would, with a workflow written like a small npm library's.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { tempRepos } from "../../helpers/git.js";
import { quirectl, quirectlJson } from "../../helpers/quirectl.js";

const WORKFLOW = `name: CI
on: [push, pull_request]
env:
  GREETING: hello
jobs:
  build:
    runs-on: ubuntu-latest
    outputs:
      version: \${{ steps.meta.outputs.version }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: ${process.versions.node.split(".")[0]}
      - id: meta
        run: |
          echo "version=1.2.3" >> "$GITHUB_OUTPUT"
          echo "FROM_ENV_FILE=carried" >> "$GITHUB_ENV"
      - run: echo "\${{ env.GREETING }} $FROM_ENV_FILE \${{ steps.meta.outputs.version }} on $RUNNER_OS in $GITHUB_WORKSPACE" > built.txt
      - run: cat built.txt
      - run: |
          echo "### Build report" >> "$GITHUB_STEP_SUMMARY"
          echo "- version \${{ steps.meta.outputs.version }}" >> "$GITHUB_STEP_SUMMARY"
      - name: workflow commands
        run: |
          value="hunter-$((6 * 7))-two"
          echo "::add-mask::$value"
          echo "the value is $value"
          echo "::error file=src/app.js,line=3,col=7,title=Lint::unused $value here"
          echo "::stop-commands::pause-token"
          echo "::warning::not a command while stopped"
          echo "::pause-token::"
          echo "::notice::back on"
  test:
    needs: build
    runs-on: \${{ matrix.os }}
    strategy:
      fail-fast: false
      matrix:
        os: [ubuntu-latest, windows-latest]
        flavour: [plain]
    steps:
      - run: echo "testing \${{ needs.build.outputs.version }} \${{ matrix.flavour }} \${{ matrix.os }}"
      - name: a failing step that may fail
        continue-on-error: true
        run: exit 3
      - if: \${{ failure() }}
        run: echo "never printed"
      - if: always()
        shell: sh
        run: echo "sh says \${{ job.status }}"
  shells:
    runs-on: ubuntu-latest
    defaults:
      run:
        shell: sh
    steps:
      - run: echo "sh with $0"
      - shell: python
        run: |
          import sys
          print("python", sys.version_info[0])
      - shell: perl {0}
        run: print "perl says hi\\n";
      - shell: pwsh
        continue-on-error: true
        run: Write-Output "hi"
  report:
    needs: [test]
    if: always()
    runs-on: ubuntu-latest
    steps:
      - run: echo "test was \${{ needs.test.result }}"
`;

// Each test runs the workflow itself: another test's run of the same tree would serve its jobs from the job cache.
const RUN_IT = ["--no-cache"];

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
before(async () => {
  daemon = await startTestDaemon();
  repo = repos.make({
    ".github/workflows/ci.yml": WORKFLOW,
    ".github/workflows/bad-json.yml":
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ fromJSON('not json') }}\n",
    ".github/workflows/secrets.yml": [
      "on: push",
      "jobs:",
      "  a:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      '      - run: echo "unnamed [$DEPLOY_KEY]"',
      "      - env: { KEY: '${{ secrets.deploy_key }}' }",
      '        run: echo "named [$KEY] [${{ secrets.DEPLOY_KEY }}]" && test "$KEY" = "s3cret-value"',
      "      - run: pwd",
      "        working-directory: ../..",
      "",
    ].join("\n"),
    "package.json": "{}\n",
  });
});
after(async () => {
  await daemon?.stop();
});

test("a workflow runs unchanged: legs, outputs, GITHUB_ENV, conditions, continue-on-error, setup-node, an OS leg skipped", async () => {
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "ci", "--wait", ...RUN_IT], 0, { cwd: repo });
  assert.equal(run.state, "complete", JSON.stringify(run, null, 2));
  const jobs = Object.fromEntries(run.jobs.map((j: { name: string; state: string }) => [j.name, j]));
  assert.deepEqual(Object.keys(jobs), ["build", "test (ubuntu-latest, plain)", "test (windows-latest, plain)", "shells", "report"]);
  assert.equal(jobs.build.state, "complete");
  assert.equal(jobs["test (windows-latest, plain)"].state, "skipped");
  const linux = jobs["test (ubuntu-latest, plain)"];
  assert.deepEqual(
    linux.steps.map((s: { state: string }) => s.state),
    ["complete", "failed", "skipped", "complete"],
  );
  const logOf = async (job: string, step: number) =>
    (
      await quirectl(daemon.home, [
        "logs",
        String(run.id),
        "--job",
        job,
        "--step",
        run.jobs.find((j: { name: string }) => j.name === job).steps[step].name,
      ])
    ).stdout;
  assert.match(await logOf("test (ubuntu-latest, plain)", 0), /testing 1\.2\.3 plain ubuntu-latest/);
  assert.match(await logOf("test (ubuntu-latest, plain)", 3), /sh says success/);
  assert.match(await logOf("build", 1), new RegExp(`quire: node ${process.versions.node.replace(/\./g, "\\.")} from `));
  assert.match(await logOf("report", 0), /test was success/);
  assert.match(await logOf("shells", 0), /sh with sh|sh with \/bin\/sh|sh with .*script/);
  assert.match(await logOf("shells", 1), /python 3/);
  assert.match(await logOf("shells", 2), /perl says hi/);
  // Where PowerShell is installed the step prints; elsewhere it fails saying why. Either way it says something definite.
  const pwshInstalled = spawnSync("sh", ["-c", "command -v pwsh"]).status === 0;
  assert.equal(jobs.shells.steps[3].state, pwshInstalled ? "complete" : "failed");
  assert.match(await logOf("shells", 3), pwshInstalled ? /^hi/m : /pwsh, which is not installed here/);
});

test("workflow commands: masks redact the rest of the run, errors and notices become annotations, stop-commands pauses them", async () => {
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "ci", "--wait", ...RUN_IT], 0, { cwd: repo });
  const log = (await quirectl(daemon.home, ["logs", String(run.id), "--job", "build", "--step", "workflow commands"])).stdout;
  assert.doesNotMatch(log, /hunter-42-two/);
  assert.match(log, /the value is \*\*\*/);
  const notes = run.annotations.map((a: { text: string; job: string; step: string }) => `${a.job}/${a.step}: ${a.text}`);
  assert.deepEqual(notes, [
    "build/workflow commands: error: src/app.js:3:7: Lint: unused *** here",
    "build/workflow commands: notice: back on",
  ]);
});

test("a step's GITHUB_STEP_SUMMARY is kept with the run and shown by runs show", async () => {
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "ci", "--wait", "--job", "build"], 0, { cwd: repo });
  const shown = await quirectlJson(daemon.home, ["runs", "show", String(run.id)]);
  const summaries = shown.jobs[0].steps.map((s: { summary: string | null }) => s.summary);
  assert.deepEqual(
    summaries.filter((s: string | null) => s !== null),
    ["### Build report\n- version 1.2.3\n"],
  );
  const human = await quirectl(daemon.home, ["runs", "show", String(run.id)]);
  assert.match(
    human.stdout,
    /summary of build \/ Run echo "### Build report" >> "\$GITHUB_STEP_SUMMARY":\n### Build report\n- version 1\.2\.3/,
  );
});

test("the steps' files show the expressions, the env file and the runner's environment took effect", async () => {
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "ci", "--wait", ...RUN_IT], 0, { cwd: repo });
  const log = (await quirectl(daemon.home, ["logs", String(run.id), "--job", "build"])).stdout;
  assert.doesNotMatch(log, /bad substitution|\$\{\{/);
  assert.match(log, /hello carried 1\.2\.3 on Linux in \/\S+/);
});

test("a step whose expression cannot be evaluated fails with the reason in its log; the run is a pipeline failure", async () => {
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "bad-json", "--wait"], 1, { cwd: repo });
  assert.equal(run.state, "failed");
  assert.equal(run.failure_kind, "pipeline-failure");
  assert.match(run.failure_summary, /expressions could not be evaluated/);
  const log = (await quirectl(daemon.home, ["logs", String(run.id)])).stdout;
  assert.match(log, /this step's expressions could not be evaluated: .*JSON/i);
});

test("a secret reaches only the steps that name it (redacted there), and a working-directory may not leave the workspace", async () => {
  const refused = await quirectl(daemon.home, ["run", "--workflow", "secrets"], { cwd: repo });
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /secret DEPLOY_KEY is not set/);
  assert.equal((await quirectl(daemon.home, ["secret", "set", "DEPLOY_KEY"], { input: "s3cret-value" })).code, 0);
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "secrets", "--wait"], 1, { cwd: repo });
  assert.deepEqual(
    run.jobs[0].steps.map((s: { state: string }) => s.state),
    ["complete", "complete", "failed"],
  );
  const log = (await quirectl(daemon.home, ["logs", String(run.id)])).stdout;
  assert.match(log, /unnamed \[\]/);
  assert.match(log, /named \[\*\*\*\] \[\*\*\*\]/);
  assert.doesNotMatch(log, /s3cret-value/);
  assert.match(log, /working-directory `\.\.\/\.\.` leaves the run's workspace/);
});

test("--job runs a job with what it needs, --matrix only the legs asked for; a name that matches nothing is a usage error", async () => {
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "ci", "--job", "test", "--matrix", "os=ubuntu-latest", "--wait"], 0, {
    cwd: repo,
  });
  assert.deepEqual(
    run.jobs.map((j: { name: string }) => j.name),
    ["build", "test (ubuntu-latest, plain)"],
  );
  assert.equal(run.state, "complete");
  const wrong = await quirectl(daemon.home, ["run", "--workflow", "ci", "--job", "tset"], { cwd: repo });
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /no job `tset` in this pipeline; jobs: build, test, shells, report/);
  const badPair = await quirectl(daemon.home, ["run", "--workflow", "ci", "--matrix", "os"], { cwd: repo });
  assert.equal(badPair.code, 2);
  assert.match(badPair.stderr, /--matrix takes key=value/);
});
