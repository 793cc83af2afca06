// The scheduler's logic, through a fake step launcher and leftover killer over a real RunStore on a temp
// SQLite file: needs order jobs, a failed job skips its dependents while independent jobs go on, retries
// record every attempt, job and step timeouts fail the run as a timeout, cancel and supersede stop a run
// (also between an attempt and its retry), and the slots bound the jobs running at once. No PTY, no
// process: each test decides when and how its steps end. The end-to-end tests of test/ci/ prove the
// real parts.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { parsePipeline } from "../../../src/ci/pipeline/parse.js";
import { readWorkflow } from "../../../src/ci/workflow/read.js";
import { RunExecution } from "../../../src/ci/runner/run-execution.js";
import { hashRunToken } from "../../../src/ci/runner/run-token.js";
import { Slots } from "../../../src/ci/runner/slots.js";
import { StepEnvironment } from "../../../src/ci/runner/step-environment.js";
import { RunStore, type JobView, type RunView } from "../../../src/ci/store/index.js";
import { Changes, FakeLauncher, FakeLeftovers } from "./fakes.js";

const dir = mkdtempSync(join(tmpdir(), "quire-scheduler-"));
// One store for the file: every test's runs are its own (a repo of their own), and opening a store costs more than a test.
const store = RunStore.open(join(dir, "quire.db"));
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const BASE_DIR = "/work/space";

interface Started {
  id: number;
  execution: RunExecution;
  /** execute(): resolves when nothing of the run runs any more. */
  done: Promise<void>;
  launcher: FakeLauncher;
  leftovers: FakeLeftovers;
  changes: Changes;
  view(): RunView;
  job(name: string): JobView;
}

/** Records a run of the pipeline `yaml` and starts executing it. */
function start(
  yaml: string,
  options: { slots?: Slots; secrets?: Record<string, string>; repo?: string; workflow?: boolean } = {},
): Started {
  const pipeline = options.workflow
    ? readWorkflow(yaml, join(BASE_DIR, ".github/workflows/ci.yml"))
    : parsePipeline(yaml, join(BASE_DIR, "quire.yml"));
  const { run } = store.createRun(
    {
      repo: options.repo ?? `/src/${randomBytes(4).toString("hex")}`,
      ref: "main",
      pipeline,
      commit: null,
      tree: null,
      dirty: false,
      workspace: ".",
    },
    Date.now(),
  );
  const secrets = new Map(Object.entries(options.secrets ?? {}));
  const launcher = new FakeLauncher();
  const leftovers = new FakeLeftovers();
  const changes = new Changes();
  const execution = new RunExecution({
    store,
    slots: options.slots ?? new Slots(8),
    runId: run.id,
    pipeline,
    baseDir: BASE_DIR,
    logDir: join(dir, "logs"),
    environment: new StepEnvironment({ env: { PATH: "/usr/bin", HOME: "/home/someone" }, binDir: "/quire/bin", home: "/quire" }).forRun({
      runId: run.id,
      pipeline,
      secrets,
      jobKey: (job) => `key/${run.id}/${job}/`,
    }),
    secrets: [...secrets.values()],
    launcher,
    leftovers,
    changed: changes.notify,
    now: Date.now,
    ...(options.workflow
      ? { workflowRun: { runId: run.id, workspace: BASE_DIR, repository: "/src/app", ref: "main", sha: "c0ffee" }, secretsByName: secrets }
      : {}),
  });
  const view = () => store.getRun(run.id)!;
  return {
    id: run.id,
    execution,
    done: execution.execute(),
    launcher,
    leftovers,
    changes,
    view,
    job: (name) => view().jobs.find((j) => j.name === name)!,
  };
}

/**
 * Lets the executions do all they can before a step ends or the killer answers: with these fakes and a
 * synchronous store that is microtasks only, and one turn of the event loop runs them all. What has not
 * happened then is waiting for the test.
 */
function quiesce(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Each step of a job as `attempt:state:exit`, in the order the run lists them. */
function steps(job: JobView): string[] {
  return job.steps.map((s) => `${s.attempt}:${s.state}:${s.exitCode}`);
}

test("a job starts once the jobs it needs complete; jobs needing nothing start at once", async () => {
  const run = start(
    "jobs:\n  test:\n    needs: [build, lint]\n    steps: [hold]\n  build:\n    steps: [hold]\n  lint:\n    steps: [hold]\n",
  );
  const build = await run.launcher.launched("build");
  const lint = await run.launcher.launched("lint");
  assert.deepEqual(run.launcher.running(), ["build/hold", "lint/hold"]);
  assert.equal(run.view().state, "active");
  lint.exit(0);
  await run.changes.until(() => run.job("lint").state === "complete");
  await quiesce();
  assert.equal(run.job("test").state, "pending", "build has not completed yet");
  assert.equal(run.launcher.of("test").length, 0);
  build.exit(0);
  (await run.launcher.launched("test")).exit(0);
  await run.done;
  const view = run.view();
  assert.equal(view.state, "complete");
  assert.deepEqual(
    view.jobs.map((j) => `${j.name}:${j.state}`),
    ["test:complete", "build:complete", "lint:complete"],
  );
  assert.ok(run.job("test").startedAt! >= run.job("build").finishedAt!);
  assert.deepEqual(run.leftovers.calls.sort(), ["job build", "job lint", "job test"], "each attempt's leftovers end with it");
});

test("each step is launched with its script, directory, environment, timeout and log, its own token, and the run's secrets to redact", async () => {
  const yaml = [
    "env: { LAYER: pipeline, P: p }",
    "jobs:",
    "  build:",
    "    working-directory: sub",
    "    env: { LAYER: job, J: j }",
    "    secrets: [TOKEN]",
    "    steps:",
    "      - name: compile",
    "        run: make all",
    "        timeout: 90s",
    "        env: { LAYER: step, QUIRE_RUN_TOKEN: chosen }",
    "      - run: exit 0",
    "        working-directory: other",
    "",
  ].join("\n");
  const run = start(yaml, { secrets: { TOKEN: "s3cret-value", UNUSED: "other-value" } });
  const compile = await run.launcher.launched("build");
  const { request } = compile;
  assert.equal(request.script, "make all");
  assert.equal(request.cwd, join(BASE_DIR, "sub"));
  assert.equal(request.timeoutMs, 90_000);
  assert.equal(request.logFile, join(dir, "logs", run.view().jobs[0]!.steps[0]!.log));
  const token = request.env.QUIRE_RUN_TOKEN!;
  assert.match(token, /^[0-9a-f]{64}$/, "the step's own token, over any env");
  assert.deepEqual(
    request.secrets,
    ["s3cret-value", "other-value", token],
    "every secret of the run is redacted from every log, and the step's token from its own",
  );
  assert.equal(request.env.LAYER, "step", "the step's env over the job's over the pipeline's");
  assert.equal(request.env.P, "p");
  assert.equal(request.env.J, "j");
  assert.equal(request.env.TOKEN, "s3cret-value");
  assert.equal(request.env.UNUSED, undefined, "only the secrets the job names");
  assert.equal(request.env.QUIRE_JOB, "build");
  assert.equal(request.env.QUIRE_STEP, "compile");
  assert.equal(request.env.QUIRE_CI_JOB_KEY, `key/${run.id}/build/`);
  assert.equal(request.env.QUIRE_RUN_ID, String(run.id));
  assert.deepEqual(
    store.stepForToken(hashRunToken(token)),
    { runId: run.id, job: "build", step: "compile", attempt: 1, index: 0 },
    "it acts for this step",
  );
  compile.exit(0);
  const second = await run.launcher.launched("build", 2);
  assert.equal(store.stepForToken(hashRunToken(token)), undefined, "and only while it runs");
  assert.notEqual(second.request.env.QUIRE_RUN_TOKEN, token, "each step has a token of its own");
  assert.equal(second.request.cwd, join(BASE_DIR, "other"), "a step's directory replaces the job's");
  assert.equal(second.request.timeoutMs, null);
  await run.done;
  assert.equal(run.view().state, "complete");
});

test("a failed job skips what needs it, also through jobs listed before it, while independent jobs go on", async () => {
  const run = start(
    "jobs:\n  deploy:\n    needs: [test]\n    steps: [exit 0]\n  build:\n    steps: [hold]\n  test:\n    needs: [build]\n    steps: [exit 0]\n  docs:\n    steps: [hold]\n",
  );
  const build = await run.launcher.launched("build");
  const docs = await run.launcher.launched("docs");
  build.exit(2, "cc: error: no input files\r\n");
  await run.changes.until(() => run.job("deploy").state === "skipped");
  assert.equal(run.job("test").state, "skipped");
  assert.equal(run.job("docs").state, "active", "docs needs nothing that failed");
  assert.equal(run.view().state, "active", "the run ends when docs has");
  docs.exit(0);
  await run.done;
  const view = run.view();
  assert.deepEqual(
    view.jobs.map((j) => `${j.name}:${j.state}`),
    ["deploy:skipped", "build:failed", "test:skipped", "docs:complete"],
  );
  assert.equal(run.job("build").exitCode, 2);
  assert.deepEqual(steps(run.job("test")), ["1:skipped:null"]);
  assert.equal(run.launcher.of("test").length + run.launcher.of("deploy").length, 0, "skipped jobs launch nothing");
  assert.equal(view.state, "failed");
  assert.equal(view.failureKind, "pipeline-failure");
  assert.equal(view.failureSummary, 'job build, step "hold" exited 2:\ncc: error: no input files');
});

test("a retried job records every attempt, and the next attempt starts only once the failed one's leftovers have ended", async () => {
  const run = start("jobs:\n  flaky:\n    retries: 2\n    steps: [first, second]\n  after:\n    needs: [flaky]\n    steps: [exit 0]\n");
  const release = run.leftovers.hold();
  (await run.launcher.launched("flaky", 1)).exit(1, "attempt one\r\n");
  await run.leftovers.asked("job flaky");
  await quiesce();
  assert.deepEqual(
    steps(run.job("flaky")),
    ["1:failed:1", "1:pending:null"],
    "no second attempt while the first one's leftovers are being ended",
  );
  assert.equal(run.job("flaky").attempt, 1);
  assert.equal(run.launcher.steps.length, 1);
  release();
  (await run.launcher.launched("flaky", 2)).exit(0);
  (await run.launcher.launched("flaky", 3)).exit(3);
  (await run.launcher.launched("flaky", 4)).exit(0);
  (await run.launcher.launched("flaky", 5)).exit(0);
  await run.done;
  const flaky = run.job("flaky");
  assert.equal(flaky.state, "complete");
  assert.equal(flaky.attempt, 3);
  assert.deepEqual(steps(flaky), ["1:failed:1", "1:skipped:null", "2:complete:0", "2:failed:3", "3:complete:0", "3:complete:0"]);
  assert.deepEqual(run.leftovers.calls, ["job flaky", "job flaky", "job flaky", "job after"]);
  assert.equal(run.view().state, "complete", "a job that completed on a retry fails nothing");
});

test("what a step leaves running lives through its job's later steps and ends with the attempt", async () => {
  const run = start("jobs:\n  serve:\n    retries: 1\n    steps: [start-server, test-it, test-again]\n");
  const starter = await run.launcher.launched("serve", 1);
  starter.exit(0);
  const tester = await run.launcher.launched("serve", 2);
  tester.exit(0);
  const again = await run.launcher.launched("serve", 3);
  await quiesce();
  assert.equal(starter.leftoversEnded + tester.leftoversEnded, 0, "ended steps' leftovers live while the attempt goes on");
  again.exit(1);
  const retry = await run.launcher.launched("serve", 4);
  assert.deepEqual(
    [starter.leftoversEnded, tester.leftoversEnded, again.leftoversEnded],
    [1, 1, 1],
    "the failed attempt's, before the retry starts",
  );
  assert.equal(retry.leftoversEnded, 0);
  retry.exit(0);
  (await run.launcher.launched("serve", 5)).exit(0);
  (await run.launcher.launched("serve", 6)).exit(0);
  await run.done;
  assert.deepEqual(
    run.launcher.steps.map((s) => s.leftoversEnded),
    [1, 1, 1, 1, 1, 1],
    "each step's once",
  );
  assert.equal(run.view().state, "complete");
});

test("a job whose every attempt fails fails with its last attempt's failure", async () => {
  const run = start("jobs:\n  flaky:\n    retries: 1\n    steps: [hold]\n");
  (await run.launcher.launched("flaky", 1)).exit(4, "first try\r\n");
  (await run.launcher.launched("flaky", 2)).exit(5, "second try\r\n");
  await run.done;
  const view = run.view();
  assert.deepEqual(steps(run.job("flaky")), ["1:failed:4", "2:failed:5"]);
  assert.equal(run.job("flaky").exitCode, 5);
  assert.equal(view.state, "failed");
  assert.equal(view.failureSummary, 'job flaky, step "hold" exited 5:\nsecond try');
});

test("a job's timeout stops its running step, the rest of the job does not start, and the run fails as a timeout", async () => {
  const run = start("jobs:\n  slow:\n    timeout: 5ms\n    steps: [hold, never]\n  after:\n    needs: [slow]\n    steps: [exit 0]\n");
  // The step never ends by itself: only the job's timer can end it.
  const hold = await run.launcher.launched("slow");
  await run.done;
  assert.equal(hold.stops, 1);
  assert.deepEqual(
    run.launcher.steps.map((s) => s.step),
    ["hold"],
  );
  assert.deepEqual(steps(run.job("slow")), ["1:failed:null", "1:skipped:null"]);
  assert.equal(run.job("after").state, "skipped");
  const view = run.view();
  assert.equal(view.state, "failed");
  assert.equal(view.failureKind, "timeout");
  assert.equal(view.failureSummary, `job slow, step "hold" timed out after 5ms (the job's timeout) (no output)`);
});

test("a step's own timeout fails its job as a timeout, without the execution stopping it", async () => {
  const run = start("jobs:\n  slow:\n    steps:\n      - run: hold\n        timeout: 5ms\n");
  const hold = await run.launcher.launched("slow");
  assert.equal(hold.request.timeoutMs, 5, "the launcher is given the step's limit and ends the step when it passes");
  await run.done;
  assert.equal(hold.stops, 0);
  assert.deepEqual(steps(run.job("slow")), ["1:failed:null"]);
  assert.equal(run.view().failureKind, "timeout");
  assert.equal(run.view().failureSummary, 'job slow, step "hold" timed out after 5ms (no output)');
});

test("a step that could not start, or whose log quire could not write, fails the run with the reason as its summary", async () => {
  const unstartable = start("jobs:\n  a:\n    steps: [hold]\n");
  (await unstartable.launcher.launched("a")).end({
    exitCode: null,
    startError: "the step could not start: no such directory /work/space/gone",
  });
  await unstartable.done;
  assert.equal(unstartable.view().failureKind, "pipeline-failure");
  assert.equal(
    unstartable.view().failureSummary,
    'job a, step "hold" failed:\nthe step could not start: no such directory /work/space/gone',
  );

  const logless = start("jobs:\n  a:\n    steps: [hold]\n");
  (await logless.launcher.launched("a")).end({
    exitCode: 0,
    internalError: "quire could not write the step's log, so it stopped the step: ENOSPC",
  });
  await logless.done;
  assert.deepEqual(steps(logless.job("a")), ["1:failed:null"], "a step quire failed keeps no exit code of 0");
  assert.equal(logless.view().failureKind, "internal");
  assert.match(logless.view().failureSummary!, /ENOSPC$/);
});

test("the failure summary has the failing step's last lines with the run's secrets redacted", async () => {
  const run = start("jobs:\n  a:\n    secrets: [TOKEN]\n    steps: [hold]\n", { secrets: { TOKEN: "hunter22" } });
  (await run.launcher.launched("a")).exit(1, "\x1b[31mlogin failed for hunter22\x1b[0m\r\n");
  await run.done;
  assert.equal(run.view().failureSummary, 'job a, step "hold" exited 1:\nlogin failed for ***');
});

test("cancel while a job waits between a failed attempt and its retry: no further attempt starts", async () => {
  const run = start("jobs:\n  flaky:\n    retries: 3\n    steps: [hold]\n  after:\n    needs: [flaky]\n    steps: [exit 0]\n");
  const release = run.leftovers.hold();
  (await run.launcher.launched("flaky")).exit(1);
  await run.leftovers.asked("job flaky");
  await quiesce();
  assert.equal(run.job("flaky").attempt, 1, "the retry waits for the killer");
  // What Runner.cancel does: record the end, then stop the execution.
  assert.ok(store.finishRun(run.id, { state: "cancelled" }, Date.now()));
  const stopped = run.execution.stop();
  release();
  await stopped;
  await run.done;
  assert.equal(run.launcher.steps.length, 1, "the retry never started");
  assert.equal(run.view().state, "cancelled");
  assert.equal(run.job("flaky").state, "cancelled");
  assert.equal(run.job("flaky").attempt, 1);
  assert.deepEqual(steps(run.job("flaky")), ["1:failed:1"]);
  assert.equal(run.job("after").state, "skipped");
  assert.ok(run.leftovers.calls.includes("run"), "stopping ends whatever the run's steps left");
});

test("cancel while a retry runs stops its step and the job ends cancelled on that attempt", async () => {
  const run = start("jobs:\n  flaky:\n    retries: 3\n    steps: [hold]\n");
  (await run.launcher.launched("flaky", 1)).exit(1);
  const second = await run.launcher.launched("flaky", 2);
  assert.ok(store.finishRun(run.id, { state: "cancelled" }, Date.now()));
  await run.execution.stop();
  await run.done;
  assert.equal(second.stops, 1);
  assert.equal(run.launcher.steps.length, 2);
  assert.deepEqual(steps(run.job("flaky")), ["1:failed:1", "2:cancelled:null"]);
  assert.equal(run.job("flaky").state, "cancelled");
  assert.equal(run.view().state, "cancelled");
  assert.equal(run.view().failureKind, null, "a cancelled run is not a failed one");
});

test("a superseded run's steps stop and nothing more of it starts; the newer run runs", async () => {
  const yaml = "name: app\njobs:\n  build:\n    steps: [hold]\n  test:\n    needs: [build]\n    steps: [exit 0]\n";
  const older = start(yaml, { repo: "/src/app" });
  const build = await older.launcher.launched("build");
  // What Runner.submit does: the store supersedes the live run as it records the new one, then the old execution stops.
  const newer = start(yaml, { repo: "/src/app" });
  assert.equal(older.view().state, "superseded");
  await older.execution.stop();
  await older.done;
  assert.equal(build.stops, 1);
  assert.deepEqual(
    older.launcher.steps.map((s) => s.job),
    ["build"],
    "test never started",
  );
  const view = older.view();
  assert.equal(view.supersededBy, newer.id);
  assert.deepEqual(
    view.jobs.map((j) => `${j.name}:${j.state}`),
    ["build:cancelled", "test:skipped"],
  );
  (await newer.launcher.launched("build")).exit(0);
  await newer.done;
  assert.equal(newer.view().state, "complete");
  assert.equal(older.view().state, "superseded", "its late writes moved nothing");
});

test("the slots bound the jobs running at once across runs; a run waits pending until a job of it gets one", async () => {
  const slots = new Slots(2);
  const first = start("jobs:\n  a:\n    steps: [hold]\n  b:\n    steps: [hold]\n  c:\n    steps: [hold]\n", { slots });
  const second = start("jobs:\n  d:\n    steps: [hold]\n", { slots });
  const cancelled = start("jobs:\n  e:\n    steps: [hold]\n", { slots });
  const running = () => [...first.launcher.running(), ...second.launcher.running(), ...cancelled.launcher.running()];
  const a = await first.launcher.launched("a");
  const b = await first.launcher.launched("b");
  await quiesce();
  assert.deepEqual(running(), ["a/hold", "b/hold"]);
  assert.equal(first.job("c").state, "pending");
  assert.equal(second.view().state, "pending", "no slot is free for its job");
  assert.ok(store.finishRun(cancelled.id, { state: "cancelled" }, Date.now()));
  await cancelled.execution.stop();
  a.exit(0);
  const c = await first.launcher.launched("c");
  await quiesce();
  assert.deepEqual(running(), ["b/hold", "c/hold"], "the freed slot goes to the job that asked first");
  assert.equal(second.view().state, "pending");
  b.exit(0);
  const d = await second.launcher.launched("d");
  await quiesce();
  assert.deepEqual(running(), ["c/hold", "d/hold"]);
  assert.equal(second.view().state, "active");
  c.exit(0);
  d.exit(0);
  await Promise.all([first.done, second.done, cancelled.done]);
  assert.equal(first.view().state, "complete");
  assert.equal(second.view().state, "complete");
  assert.equal(cancelled.launcher.steps.length, 0, "the cancelled run took its slot and started nothing");
  assert.equal(cancelled.view().state, "cancelled");
  assert.equal(cancelled.view().startedAt, null);
  assert.equal(slots.inUse, 0);
});

// Run ids start at 1 in every store: two test files (or daemons) at once run a job of the same id and name,
// and under the system's temporary directory the runner files of one were removed while the other wrote
// them (ENOTEMPTY, seen with two suites at once).
test("a workflow job's runner files under the system's temporary directory are its own, whatever another run of its id holds", async () => {
  const workflow = ["on: push", "jobs:", "  build:", "    runs-on: ubuntu-latest", "    steps:", "      - run: hold", ""].join("\n");
  const run = start(workflow, { workflow: true });
  const step = await run.launcher.launched("build");
  const temp = step.request.env.RUNNER_TEMP!;
  const theirs = join(tmpdir(), `quire-runner-${run.id}-build`);
  mkdirSync(theirs, { recursive: true });
  writeFileSync(join(theirs, "file"), "another run's\n");
  try {
    const madeWhileRunning = existsSync(temp);
    step.exit(0);
    await run.done;
    assert.notEqual(temp, theirs);
    assert.ok(madeWhileRunning);
    assert.equal(existsSync(temp), false, "its own go with the job");
    assert.equal(readFileSync(join(theirs, "file"), "utf8"), "another run's\n");
  } finally {
    rmSync(theirs, { recursive: true, force: true });
  }
});

describe("a workflow's matrix", () => {
  const matrix = (strategy: string) =>
    [
      "on: push",
      "jobs:",
      "  test:",
      "    runs-on: ubuntu-latest",
      "    strategy:",
      strategy,
      "      matrix:",
      "        n: [1, 2, 3]",
      "    steps:",
      "      - run: hold",
      "      - run: after",
      "",
    ].join("\n");

  test("max-parallel runs that many legs at once, the next starting as one ends", async () => {
    const run = start(matrix("      max-parallel: 1"), { workflow: true });
    const first = await run.launcher.launched("test (1)");
    await quiesce();
    assert.deepEqual(run.launcher.running(), ["test (1)/Run hold"]);
    first.exit(0);
    (await run.launcher.launched("test (1)", 2)).exit(0);
    await run.launcher.launched("test (2)");
    await quiesce();
    assert.deepEqual(run.launcher.running(), ["test (2)/Run hold"]);
    for (const leg of ["test (2)", "test (3)"]) {
      (await run.launcher.launched(leg)).exit(0);
      (await run.launcher.launched(leg, 2)).exit(0);
    }
    await run.done;
    assert.equal(run.view().state, "complete");
  });

  test("fail-fast: a failed leg cancels the running legs and skips those still waiting", async () => {
    const run = start(matrix("      max-parallel: 2"), { workflow: true });
    const one = await run.launcher.launched("test (1)");
    const two = await run.launcher.launched("test (2)");
    one.exit(1);
    await run.done;
    assert.equal(two.stops, 1);
    assert.deepEqual(
      run.view().jobs.map((j) => `${j.name}:${j.state}`),
      ["test (1):failed", "test (2):cancelled", "test (3):skipped"],
    );
    assert.equal(run.view().state, "failed");
  });

  test("fail-fast: false lets the other legs go on", async () => {
    const run = start(matrix("      fail-fast: false"), { workflow: true });
    (await run.launcher.launched("test (1)")).exit(1);
    for (const leg of ["test (2)", "test (3)"]) {
      (await run.launcher.launched(leg)).exit(0);
      (await run.launcher.launched(leg, 2)).exit(0);
    }
    await run.done;
    assert.deepEqual(
      run.view().jobs.map((j) => `${j.name}:${j.state}`),
      ["test (1):failed", "test (2):complete", "test (3):complete"],
    );
  });
});
