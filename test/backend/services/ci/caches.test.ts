// Fast re-runs end to end, through a real daemon, real git repositories and quirectl: a second run of an
// unchanged tree serves every job from the job cache and runs no step; a change re-runs only the jobs
// whose inputs it touches; --no-cache runs everything; dependency caches (quire.yml's `cache:` and a
// workflow's actions/cache) are there in the next run; a ci backend killed mid-save leaves nothing a
// later run restores.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { adminCall, AdminOp } from "../../../../src/client/admin-calls.js";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { alive, identify } from "../../../helpers/fixtures.js";
import { git, tempRepos, writeFiles } from "../../../helpers/git.js";
import { quirectl, quirectlJson } from "../../../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
before(async () => {
  daemon = await startTestDaemon();
});
after(async () => {
  await daemon?.stop();
});

const run = (dir: string, ...flags: string[]) => quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait", ...flags]);
/** Each job's state, and for a cached one the run it is cached from. */
const jobStates = (r: any) =>
  Object.fromEntries(r.jobs.map((j: any) => [j.name, j.cached_from === null ? j.state : `${j.state} from ${j.cached_from}`]));
/** What the step logs of `job` in `r` say, joined. */
const logOf = (r: any, job: string) =>
  r.jobs
    .find((j: any) => j.name === job)
    .steps.map((s: any) => (existsSync(s.log) ? readFileSync(s.log, "utf8") : ""))
    .join("");

function commit(dir: string, files: Record<string, string>): void {
  writeFiles(dir, files);
  git(dir, "add", "-A");
  git(dir, "commit", "-q", "-m", "change");
}

describe("the job cache", () => {
  const PIPELINE = [
    "jobs:",
    "  lint:",
    "    inputs: [src]",
    "    steps:",
    "      - echo linted $(cat src/app.sh)",
    "  build:",
    "    inputs: [src]",
    "    outputs: [dist]",
    "    steps:",
    "      - mkdir -p dist && cp src/app.sh dist/app && echo built",
    "  test:",
    "    needs: [build]",
    "    inputs: [test]",
    "    steps:",
    "      - sh test/check.sh",
    "  docs:",
    "    inputs: [docs]",
    "    steps:",
    "      - cat docs/index.md",
  ].join("\n");
  const FILES = {
    "quire.yml": PIPELINE,
    "src/app.sh": "echo v1",
    "test/check.sh": "test -f dist/app && echo tested",
    "docs/index.md": "docs v1",
  };

  test("a second run of an unchanged tree reports every job cached from the first and runs no step", async () => {
    const dir = repos.make(FILES);
    const first = await run(dir);
    assert.equal(first.state, "complete");
    assert.deepEqual(jobStates(first), { lint: "complete", build: "complete", test: "complete", docs: "complete" });
    assert.ok(first.jobs.every((j: any) => j.cached_from === null));

    const second = await run(dir);
    assert.equal(second.state, "complete");
    assert.deepEqual(jobStates(second), {
      lint: `cached from ${first.id}`,
      build: `cached from ${first.id}`,
      test: `cached from ${first.id}`,
      docs: `cached from ${first.id}`,
    });
    assert.equal(existsSync(join(daemon.home, "logs", String(second.id))), false, "no step log was written: no step ran");
    for (const job of second.jobs) {
      assert.equal(job.exit_code, null);
      assert.equal(job.started_at, null);
      assert.ok(job.finished_at);
      assert.deepEqual(
        job.steps.map((s: any) => s.state),
        ["skipped"],
      );
    }
    assert.match(second.jobs[0].steps[0].log, new RegExp(`/logs/${first.id}/lint/1-0\\.log$`), "its logs are the proving run's");
    const logs = await quirectl(daemon.home, ["logs", String(second.id), "--job", "lint"]);
    assert.equal(logs.stdout.replaceAll("\r\n", "\n"), "linted echo v1\n");
    const shown = await quirectl(daemon.home, ["runs", "show", String(second.id)]);
    assert.match(shown.stdout, new RegExp(`lint: cached from run ${first.id}`));
  });

  test("a change to one file re-runs only the jobs whose inputs it changed, and what needs them", async () => {
    const dir = repos.make(FILES);
    const first = await run(dir);
    commit(dir, { "docs/index.md": "docs v2" });
    const docs = await run(dir);
    assert.deepEqual(jobStates(docs), {
      lint: `cached from ${first.id}`,
      build: `cached from ${first.id}`,
      test: `cached from ${first.id}`,
      docs: "complete",
    });
    assert.match(logOf(docs, "docs"), /docs v2/);

    commit(dir, { "test/check.sh": "test -f dist/app && echo tested again" });
    const tests = await run(dir);
    assert.deepEqual(jobStates(tests), {
      lint: `cached from ${first.id}`,
      build: `cached from ${first.id}`,
      test: "complete",
      docs: `cached from ${docs.id}`,
    });
    assert.match(logOf(tests, "test"), /tested again/, "the cached build's dist/ is back for the test that runs");

    writeFiles(dir, { "src/app.sh": "echo v2" }); // uncommitted: the snapshot's tree is what counts
    const source = await run(dir);
    assert.equal(source.dirty, true);
    assert.deepEqual(
      jobStates(source),
      { lint: "complete", build: "complete", test: "complete", docs: `cached from ${docs.id}` },
      "test needs build, whose result changed",
    );
    assert.match(logOf(source, "lint"), /linted echo v2/);

    git(dir, "checkout", "-q", "--", "src/app.sh");
    const back = await run(dir);
    assert.deepEqual(
      jobStates(back),
      {
        lint: `cached from ${first.id}`,
        build: `cached from ${first.id}`,
        test: `cached from ${tests.id}`,
        docs: `cached from ${docs.id}`,
      },
      "the tree of before: the results of before",
    );
  });

  test("--no-cache runs every job; a job that failed proves nothing", async () => {
    const dir = repos.make({ "quire.yml": "jobs:\n  a:\n    steps: [echo a]\n  flaky:\n    steps: ['test -f $HOME/none-such-file']\n" });
    const first = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"], 1);
    assert.equal(first.state, "failed");
    const again = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"], 1);
    assert.deepEqual(jobStates(again), { a: `cached from ${first.id}`, flaky: "failed" });
    const every = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait", "--no-cache"], 1);
    assert.deepEqual(jobStates(every), { a: "complete", flaky: "failed" });
    assert.match(logOf(every, "a"), /^a\r?\n$/);
  });
});

/** A pipeline of one job, `deps`, caching node_modules under a key of package-lock.json, with these steps. */
function depsPipeline(...steps: string[]): string {
  const header = [
    "jobs:",
    "  deps:",
    "    cache:",
    "      - key: deps-${{ hashFiles('package-lock.json') }}",
    "        paths: [node_modules]",
  ];
  return [...header, "    steps:", ...steps.map((step) => `      - ${step}`)].join("\n");
}

describe("dependency caches", () => {
  test("quire.yml's cache: what the first run saved is there for the second; a step writing into it changes no entry", async () => {
    const pipeline = depsPipeline(
      // Found: the step writes into the restored copy (the key itself was found, so nothing is saved).
      "if [ -f node_modules/marker ]; then echo found $(cat node_modules/marker); echo scribbled > node_modules/marker; else mkdir -p node_modules && echo run $QUIRE_RUN_ID > node_modules/marker && echo installed; fi",
    );
    const dir = repos.make({ "quire.yml": pipeline, "package-lock.json": "{}" });
    const first = await run(dir);
    assert.match(logOf(first, "deps"), /installed/);
    // --no-cache: the job runs again (the job cache would serve it), so its restore is what is seen.
    const second = await run(dir, "--no-cache");
    assert.match(logOf(second, "deps"), new RegExp(`found run ${first.id}\\b`), "the file from the first run is there");
    const third = await run(dir, "--no-cache");
    assert.match(logOf(third, "deps"), new RegExp(`found run ${first.id}\\b`), "the second run's scribble did not reach the entry");
    commit(dir, { "package-lock.json": '{"lockfileVersion": 3}' });
    const changed = await run(dir);
    assert.match(logOf(changed, "deps"), /installed/, "another lock file: another key, a miss");
  });

  test("the next run of the same working copy takes the copy the last one restored, and a step's change to it is undone", async () => {
    const pipeline = depsPipeline(
      "if [ -d node_modules ]; then echo \"a=$(stat -c '%i %z' node_modules/a.js) b=$(stat -c '%i %z' node_modules/b.js) has $(cat node_modules/b.js)\"; else mkdir node_modules && printf a > node_modules/a.js && printf b > node_modules/b.js && echo installed; fi",
      // Same size, so only the file's change time tells.
      "if [ -f scribble ]; then printf B > node_modules/b.js; fi",
    );
    const dir = repos.make({ "quire.yml": pipeline, "package-lock.json": "{}" });
    const seen = (r: any) => {
      const found = /a=(.+) b=(.+) has (\w)/.exec(logOf(r, "deps"));
      assert.ok(found, logOf(r, "deps"));
      return { a: found[1], b: found[2], has: found[3] };
    };
    assert.match(logOf(await run(dir), "deps"), /installed/);
    const second = seen(await run(dir, "--no-cache"));
    writeFiles(dir, { scribble: "" });
    const third = seen(await run(dir, "--no-cache"));
    assert.deepEqual(third, second, "the same files as the run before: taken, not copied");
    rmSync(join(dir, "scribble"));
    const fourth = seen(await run(dir, "--no-cache"));
    assert.equal(fourth.has, "b", "the third run's change did not stay");
    assert.equal(fourth.a, second.a, "what no step changed was taken again");
    assert.notEqual(fourth.b, second.b);
  });

  test("what an install made and saved is taken by the next run that needs it, not copied from the cache", async () => {
    const pipeline = [
      "jobs:",
      "  install:",
      "    inputs: [package-lock.json]",
      "    cache:",
      "      - key: deps-${{ hashFiles('package-lock.json') }}",
      "        paths: [node_modules]",
      "    outputs: [node_modules]",
      "    steps:",
      // The pause: a file written in the clock tick its save begins in is copied again (kept-outputs.ts).
      "      - mkdir node_modules && printf a > node_modules/a.js && sleep 0.1",
      "  test:",
      "    needs: [install]",
      "    steps:",
      "      - echo \"a=$(stat -c '%i %z' node_modules/a.js) has $(cat node_modules/a.js) $(cat src.txt)\"",
    ].join("\n");
    const dir = repos.make({ "quire.yml": pipeline, "package-lock.json": "{}", "src.txt": "v1" });
    const seen = (r: any) => /a=(.+) has (.+)/.exec(logOf(r, "test"))?.slice(1);
    const first = await run(dir);
    writeFiles(dir, { "src.txt": "v2" });
    const second = await run(dir);
    assert.deepEqual(jobStates(second), { install: `cached from ${first.id}`, test: "complete" });
    assert.deepEqual(seen(second), [seen(first)![0], "a v2"], "the very file the first run's install made");
  });

  test("a workflow's actions/cache: a hit sets cache-hit, so the install step is skipped", async () => {
    const workflow = [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - uses: actions/cache@v4",
      "        id: deps",
      "        with:",
      "          path: vendor",
      "          key: vendor-${{ hashFiles('deps.txt') }}",
      "      - if: steps.deps.outputs.cache-hit != 'true'",
      "        run: mkdir -p vendor && echo fetched-in-${{ github.run_id }} > vendor/lib",
      "      - run: echo using $(cat vendor/lib)",
    ].join("\n");
    const dir = repos.make({ ".github/workflows/ci.yml": workflow, "deps.txt": "lib 1.0" });
    const file = join(dir, ".github/workflows/ci.yml");
    const first = await quirectlJson(daemon.home, ["run", file, "--wait"]);
    assert.equal(first.state, "complete");
    assert.deepEqual(
      first.jobs[0].steps.map((s: any) => s.state),
      ["complete", "complete", "complete"],
    );
    assert.match(logOf(first, "build"), /no cache entry for key vendor-/);
    const second = await quirectlJson(daemon.home, ["run", file, "--wait", "--no-cache"]);
    assert.deepEqual(
      second.jobs[0].steps.map((s: any) => s.state),
      ["complete", "skipped", "complete"],
    );
    assert.match(logOf(second, "build"), new RegExp(`cache restored from key vendor-[0-9a-f]{64}[\\s\\S]*using fetched-in-${first.id}\\b`));
  });
});

describe("a ci backend killed while it saves a large cache", () => {
  test("the next run restores no half entry, and works; the run after it restores the whole one", async () => {
    const files = 3000;
    // 3,000 files of 16 KiB, each flushed to the disk as it is saved: a save long enough to be caught at.
    const make = `node -e 'const fs=require("fs");fs.mkdirSync("big");const b=Buffer.alloc(16384,7);for(let i=0;i<${files};i++)fs.writeFileSync("big/f"+i,b)'`;
    const pipeline = [
      "jobs:",
      "  deps:",
      "    cache: [{ key: big, paths: [big] }]",
      "    steps:",
      `      - if [ -d big ]; then echo restored $(ls big | wc -l); else ${make} && echo made; fi`,
    ].join("\n");
    const dir = repos.make({ "quire.yml": pipeline });
    const saving = join(daemon.home, "cache", ".saving");
    // Saves under way, with some of their files written (a save ending meanwhile reads as none).
    const halfSaved = () => {
      try {
        return readdirSync(saving).filter((name) => readdirSync(join(saving, name, "files", "big")).length > 0);
      } catch {
        return [];
      }
    };
    const entries = () =>
      existsSync(join(daemon.home, "cache", "deps"))
        ? readdirSync(join(daemon.home, "cache", "deps"), { recursive: true }).filter((p) => String(p).endsWith("entry.json"))
        : [];

    const before = entries().length;
    const submitted = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml")]);
    const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home });
    const backend = identify(status!.backends.find((b) => b.service === "ci")!.pid);
    await eventually(() => halfSaved().length > 0, "the save to be under way", 60_000);
    process.kill(backend.pid, "SIGKILL");
    await eventually(() => !alive(backend), "the ci backend to die");
    assert.equal(halfSaved().length, 1, "the entry was being written aside");
    assert.equal(entries().length, before, "and was never renamed into place");

    const next = await run(dir);
    assert.equal(next.state, "complete");
    assert.match(logOf(next, "deps"), /made/, "no half entry was restored");
    assert.equal(halfSaved().length, 0, "what the killed save left is gone");
    assert.equal(entries().length, before + 1, "this run's save is whole");
    const orphaned = await quirectlJson(daemon.home, ["runs", "show", String(submitted.id)]);
    assert.equal(orphaned.failure_kind, "orphaned");

    const after = await run(dir, "--no-cache");
    assert.match(logOf(after, "deps"), new RegExp(`restored ${files}\\b`));
  });
});
