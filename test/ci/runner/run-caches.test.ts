// The scheduler with the real caches (QUIRE_HOME/cache on a temp directory) and the fake step launcher:
// a job whose inputs match a complete job's is cached and launches nothing, and its dependents start; a
// change of inputs runs the job again and what needs it; --no-cache runs everything; dependency caches
// are restored before the first step and saved once the job completes, as a workflow's actions/cache
// steps are. The fake steps do their work in the test: it writes what a step would have written.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { DependencyCaches } from "../../../src/ci/cache/dependency-caches.js";
import { cacheEntries } from "../../../src/ci/gc/cache-entries.js";
import { discardAtomically } from "../../../src/ci/gc/trash.js";
import { JobResults } from "../../../src/ci/cache/job-results.js";
import { RunCaches } from "../../../src/ci/cache/run-caches.js";
import type { Pipeline } from "../../../src/ci/pipeline/model.js";
import { parsePipeline } from "../../../src/ci/pipeline/parse.js";
import { RunExecution } from "../../../src/ci/runner/run-execution.js";
import { Slots } from "../../../src/ci/runner/slots.js";
import { StepEnvironment } from "../../../src/ci/runner/step-environment.js";
import { RunStore, type JobView, type RunView } from "../../../src/ci/store/index.js";
import { readWorkflow } from "../../../src/ci/workflow/read.js";
import { tempRepos, writeFiles } from "../../helpers/git.js";
import { Changes, FakeLauncher, FakeLeftovers } from "./fakes.js";

const dirs = tempRepos();
const home = dirs.dir("home");
const store = RunStore.open(join(home, "quire.db"));
after(() => store.close());
const dependencies = new DependencyCaches(join(home, "cache"));
const results = new JobResults(join(home, "cache"));

interface Started {
  id: number;
  done: Promise<void>;
  launcher: FakeLauncher;
  workspace: string;
  view(): RunView;
  job(name: string): JobView;
}

/**
 * Records and starts a run of `pipeline` in a fresh workspace holding `files`; `trees` are the jobs'
 * inputTree (what the snapshot would have said), by job name, "tree" for the others.
 */
function start(
  pipeline: Pipeline,
  options: { repo: string; files?: Record<string, string>; trees?: Record<string, string>; noCache?: boolean },
): Started {
  const workspace = dirs.dir("workspace");
  writeFiles(workspace, options.files ?? {});
  const spec = { ...pipeline, jobs: pipeline.jobs.map((job) => ({ ...job, inputTree: options.trees?.[job.name] ?? "tree" })) };
  const { run } = store.createRun(
    { repo: options.repo, ref: "main", pipeline: spec, commit: null, tree: null, dirty: false, workspace: ".", noCache: options.noCache },
    Date.now(),
  );
  const launcher = new FakeLauncher();
  const changes = new Changes();
  const workflowRun =
    spec.kind === "github"
      ? { workflowRun: { runId: run.id, workspace, repository: options.repo, ref: "main", sha: "c0ffee" }, secretsByName: new Map() }
      : {};
  const execution = new RunExecution({
    store,
    slots: new Slots(4),
    runId: run.id,
    pipeline: spec,
    baseDir: workspace,
    logDir: join(home, "logs"),
    environment: new StepEnvironment({ env: { PATH: "/usr/bin" }, binDir: "/quire/bin", home }).forRun({
      runId: run.id,
      pipeline: spec,
      secrets: new Map(),
      jobKey: (job) => `key/${job}`,
    }),
    secrets: [],
    launcher,
    leftovers: new FakeLeftovers(),
    changed: changes.notify,
    now: Date.now,
    ...workflowRun,
    caches: new RunCaches({
      store,
      dependencies,
      results,
      runId: run.id,
      repo: options.repo,
      pipeline: spec,
      baseDir: workspace,
      dir: ".",
      useResults: !options.noCache,
      changed: changes.notify,
      now: Date.now,
    }),
  });
  const view = () => store.getRun(run.id)!;
  return { id: run.id, done: execution.execute(), launcher, workspace, view, job: (name) => view().jobs.find((j) => j.name === name)! };
}

/** Ends the `nth` step launched for `job` with exit 0, after `work` (what the step would write). */
async function runStep(run: Started, job: string, work: () => void = () => {}, nth = 1): Promise<void> {
  const step = await run.launcher.launched(job, nth);
  work();
  step.exit(0);
}

const states = (view: RunView) => view.jobs.map((j) => `${j.name}:${j.state}${j.cachedFrom ? `:${j.cachedFrom}` : ""}`);

const repoName = () => `/src/${randomBytes(4).toString("hex")}`;

describe("the job cache", () => {
  const PIPELINE = parsePipeline(
    [
      "jobs:",
      "  build:",
      "    outputs: [dist]",
      "    steps: [make]",
      "  test:",
      "    needs: [build]",
      "    steps: [make test]",
      "  docs:",
      "    steps: [make docs]",
    ].join("\n"),
    "quire.yml",
  );

  test("a second run of the same inputs launches nothing and copies nothing: every job cached from the first, needs met", async () => {
    const repo = repoName();
    const first = start(PIPELINE, { repo });
    await runStep(first, "build", () => writeFiles(first.workspace, { "dist/app.js": "built" }));
    await runStep(first, "docs");
    await runStep(first, "test");
    await first.done;
    assert.equal(first.view().state, "complete");

    const second = start(PIPELINE, { repo });
    await second.done;
    assert.equal(second.launcher.steps.length, 0, "no step was launched");
    assert.equal(second.view().state, "complete");
    assert.deepEqual(states(second.view()), [`build:cached:${first.id}`, `test:cached:${first.id}`, `docs:cached:${first.id}`]);
    assert.equal(existsSync(join(second.workspace, "dist")), false, "no job that runs needs what build left: it stays in the cache");
    const build = second.job("build");
    assert.deepEqual(
      build.steps.map((s) => [s.state, s.log]),
      [["skipped", first.job("build").steps[0]!.log]],
      "its logs are the proving run's",
    );
    assert.ok(second.view().startedAt !== null, "a run of cached jobs is started and ends complete");
  });

  test("a job whose kept result retention evicted runs again, and the run completes", async () => {
    const repo = repoName();
    const first = start(PIPELINE, { repo });
    await runStep(first, "build", () => writeFiles(first.workspace, { "dist/app.js": "built" }));
    await runStep(first, "docs");
    await runStep(first, "test");
    await first.done;
    // Evicted as a retention pass evicts a cache entry: moved aside and removed.
    const kept = (await cacheEntries(join(home, "cache"))).filter((entry) => entry.name.startsWith("results/"));
    assert.ok(kept.length > 0, "build's outputs were kept");
    for (const entry of kept) await discardAtomically(join(home, "cache"), entry.dir);

    const second = start(PIPELINE, { repo });
    await runStep(second, "build", () => writeFiles(second.workspace, { "dist/app.js": "built again" }));
    await second.done;
    assert.equal(second.view().state, "complete");
    assert.deepEqual(states(second.view()), ["build:complete", `test:cached:${first.id}`, `docs:cached:${first.id}`]);
    assert.deepEqual(
      second.launcher.steps.map((s) => s.job),
      ["build"],
      "only the evicted job ran",
    );
  });

  test("a job whose tree changed runs again, and so does what needs it; an independent job stays cached", async () => {
    const repo = repoName();
    const first = start(PIPELINE, { repo });
    await runStep(first, "build", () => writeFiles(first.workspace, { "dist/app.js": "v1" }));
    await runStep(first, "docs");
    await runStep(first, "test");
    await first.done;

    const second = start(PIPELINE, { repo, trees: { build: "tree-2" } });
    await runStep(second, "build", () => writeFiles(second.workspace, { "dist/app.js": "v2" }));
    await runStep(second, "test");
    await second.done;
    assert.deepEqual(states(second.view()), ["build:complete", "test:complete", `docs:cached:${first.id}`]);
    assert.deepEqual(
      second.launcher.steps.map((s) => s.job),
      ["build", "test"],
    );

    const third = start(PIPELINE, { repo, trees: { build: "tree-2" } });
    await third.done;
    assert.deepEqual(
      states(third.view()),
      [`build:cached:${second.id}`, `test:cached:${second.id}`, `docs:cached:${first.id}`],
      "each from the newest run that proved it",
    );

    // Only test's own tree changed: it runs, and finds what the cached build left before its first step.
    const fourth = start(PIPELINE, { repo, trees: { build: "tree-2", test: "tree-3" } });
    await runStep(fourth, "test", () => assert.equal(readFileSync(join(fourth.workspace, "dist/app.js"), "utf8"), "v2"));
    await fourth.done;
    assert.deepEqual(states(fourth.view()), [`build:cached:${second.id}`, "test:complete", `docs:cached:${first.id}`]);
  });

  test("results are never shared between repositories, a failed job proves nothing, and --no-cache runs every job", async () => {
    const repo = repoName();
    const failing = start(PIPELINE, { repo });
    (await failing.launcher.launched("build")).exit(1);
    await runStep(failing, "docs");
    await failing.done;

    const after = start(PIPELINE, { repo });
    await runStep(after, "build", () => writeFiles(after.workspace, { "dist/app.js": "ok" }));
    await runStep(after, "test");
    await after.done;
    assert.deepEqual(states(after.view()), ["build:complete", "test:complete", `docs:cached:${failing.id}`]);

    const elsewhere = start(PIPELINE, { repo: repoName() });
    for (const job of ["build", "docs", "test"]) await runStep(elsewhere, job);
    await elsewhere.done;
    assert.deepEqual(states(elsewhere.view()), ["build:complete", "test:complete", "docs:complete"]);

    const every = start(PIPELINE, { repo, noCache: true });
    for (const job of ["build", "docs", "test"]) await runStep(every, job, () => writeFiles(every.workspace, { "dist/app.js": "ok" }));
    await every.done;
    assert.deepEqual(states(every.view()), ["build:complete", "test:complete", "docs:complete"]);
    const next = start(PIPELINE, { repo });
    await next.done;
    assert.deepEqual(
      states(next.view()),
      [`build:cached:${every.id}`, `test:cached:${every.id}`, `docs:cached:${every.id}`],
      "what a --no-cache run completed proves later runs",
    );
  });

  test("a workflow job's outputs reach the jobs that need it from the cache too", async () => {
    const workflow = readWorkflow(
      [
        "on: push",
        "jobs:",
        "  version:",
        "    runs-on: ubuntu-latest",
        "    outputs: { v: '${{ steps.read.outputs.v }}' }",
        "    steps: [{ id: read, run: read }]",
        "  use:",
        "    needs: version",
        "    runs-on: ubuntu-latest",
        "    steps: [{ run: 'echo ${{ needs.version.outputs.v }}' }]",
      ].join("\n"),
      "/.github/workflows/ci.yml",
    );
    const repo = repoName();
    const first = start(workflow, { repo });
    await runStep(first, "version", () => writeFileSync(first.launcher.of("version")[0]!.request.env.GITHUB_OUTPUT!, "v=1.2.3\n"));
    await runStep(first, "use");
    await first.done;
    assert.equal(first.launcher.of("use")[0]!.request.script, "echo 1.2.3");

    const second = start(workflow, { repo, trees: { use: "another tree" } });
    await runStep(second, "use");
    await second.done;
    assert.deepEqual(states(second.view()), [`version:cached:${first.id}`, "use:complete"]);
    assert.equal(second.launcher.of("use")[0]!.request.script, "echo 1.2.3", "needs.version.outputs from the kept result");
  });
});

describe("dependency caches", () => {
  const PIPELINE = parsePipeline(
    [
      "jobs:",
      "  deps:",
      "    cache:",
      "      - key: deps-${{ hashFiles('lock') }}",
      "        paths: [node_modules]",
      "        restore-keys: [deps-]",
      "    steps: [npm ci]",
    ].join("\n"),
    "quire.yml",
  );

  test("restored before the first step, saved once the job completes; a failed job saves nothing", async () => {
    const repo = repoName();
    // Other trees each run, so the job cache does not serve them.
    const failed = start(PIPELINE, { repo, files: { lock: "1" }, trees: { deps: "a" } });
    (await failed.launcher.launched("deps")).exit(1);
    await failed.done;

    const first = start(PIPELINE, { repo, files: { lock: "1" }, trees: { deps: "b" } });
    await runStep(first, "deps", () => {
      assert.equal(existsSync(join(first.workspace, "node_modules")), false, "nothing saved by the failed job");
      writeFiles(first.workspace, { "node_modules/pkg/index.js": "installed" });
    });
    await first.done;

    const second = start(PIPELINE, { repo, files: { lock: "1" }, trees: { deps: "c" } });
    await runStep(second, "deps", () =>
      assert.equal(
        readFileSync(join(second.workspace, "node_modules/pkg/index.js"), "utf8"),
        "installed",
        "there when the first step starts",
      ),
    );
    await second.done;

    const changedLock = start(PIPELINE, { repo, files: { lock: "2" }, trees: { deps: "d" } });
    await runStep(changedLock, "deps", () => {
      assert.equal(readFileSync(join(changedLock.workspace, "node_modules/pkg/index.js"), "utf8"), "installed", "from the restore key");
      writeFiles(changedLock.workspace, { "node_modules/pkg/index.js": "updated" });
    });
    await changedLock.done;
    const again = start(PIPELINE, { repo, files: { lock: "2" }, trees: { deps: "e" } });
    await runStep(again, "deps", () =>
      assert.equal(
        readFileSync(join(again.workspace, "node_modules/pkg/index.js"), "utf8"),
        "updated",
        "saved under the new key, as the restore key only was found",
      ),
    );
    await again.done;
    assert.deepEqual(again.view().annotations, []);
  });

  test("a cache that cannot be restored is an annotation of the job, which runs without it", async () => {
    const pipeline = parsePipeline(
      ["jobs:", "  deps:", "    cache: [{ key: deps, paths: [lib/modules] }]", "    steps: [npm ci]"].join("\n"),
      "quire.yml",
    );
    const repo = repoName();
    const first = start(pipeline, { repo, trees: { deps: "a" } });
    await runStep(first, "deps", () => writeFiles(first.workspace, { "lib/modules/x": "x" }));
    await first.done;
    // A file where the entry's directory goes under: the copy cannot make lib/.
    const second = start(pipeline, { repo, files: { lib: "a file" }, trees: { deps: "b" } });
    await runStep(second, "deps");
    await second.done;
    assert.equal(second.view().state, "complete");
    const [note] = second.view().annotations;
    assert.equal(note?.job, "deps");
    assert.match(note!.text, /^quire: restoring the cache deps failed: EEXIST.*; the job went on without it/);
  });

  test("a workflow's actions/cache: restored at its step (its script says so), saved at the job's end unless the key itself was found", async () => {
    const workflow = readWorkflow(
      [
        "on: push",
        "jobs:",
        "  build:",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - uses: actions/cache@v4",
        "        with: { path: out, key: 'out-${{ hashFiles(''lock'') }}', restore-keys: out- }",
        "      - run: build",
      ].join("\n"),
      "/.github/workflows/ci.yml",
    );
    const repo = repoName();
    const cacheStep = (run: Started) => run.launcher.of("build")[0]!.request.script;
    const first = start(workflow, { repo, files: { lock: "1" }, trees: { build: "a" } });
    await runStep(first, "build");
    assert.match(cacheStep(first), /no cache entry for key out-[0-9a-f]{64} or restore keys out-/);
    await runStep(first, "build", () => writeFiles(first.workspace, { "out/result": "made" }), 2);
    await first.done;

    const second = start(workflow, { repo, files: { lock: "1" }, trees: { build: "b" } });
    const restored = await second.launcher.launched("build");
    assert.match(restored.request.script, /cache restored from key out-/);
    assert.match(restored.request.script, /'cache-hit' 'true' >> "\$GITHUB_OUTPUT"/);
    assert.equal(readFileSync(join(second.workspace, "out/result"), "utf8"), "made");
    restored.exit(0);
    (await second.launcher.launched("build", 2)).exit(0);
    await second.done;
    assert.equal(second.view().state, "complete");
  });
});
