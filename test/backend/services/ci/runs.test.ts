// CI runs end to end: a real quired, the ci backend, real PTYs, a real SQLite file and real git
// repositories, driven through the quirectl binary as a person or a script would.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CiClient } from "../../../../src/client/ci.js";
import { CiRequest, CiResponse } from "../../../../src/gen/quire/v1/ci.js";
import { Lane } from "../../../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { alive, identify } from "../../../helpers/fixtures.js";
import { Gate } from "../../../helpers/gate.js";
import { git, tempRepos, writeFiles } from "../../../helpers/git.js";
import { quirectl, quirectlJson } from "../../../helpers/quirectl.js";

const repos = tempRepos();

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat?.isDirectory() ? filesUnder(path) : stat?.isFile() ? [path] : [];
  });
}

let daemon: TestDaemon;
before(async () => {
  daemon = await startTestDaemon();
});
after(async () => {
  await daemon?.stop();
});

describe("a passing pipeline", () => {
  test("runs its jobs in order in terminals and reports the documented shape", async () => {
    const dir = repos.make({
      "quire.yml": [
        "name: demo",
        "env: { GREETING: hello }",
        "jobs:",
        "  build:",
        "    steps:",
        "      - name: compile",
        '        run: echo "$GREETING" > built.txt && echo "$GREETING"',
        "  test:",
        "    needs: [build]",
        "    timeout: 5m",
        "    steps:",
        '      - run: test -t 1 && echo "in a terminal"',
        '      - run: cat built.txt && quirectl annotate "checked run $QUIRE_RUN_ID"',
      ].join("\n"),
    });
    const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
    assert.equal(run.state, "complete");
    for (const key of [
      "id",
      "repo",
      "ref",
      "pipeline",
      "state",
      "failure_kind",
      "failure_summary",
      "superseded_by",
      "created_at",
      "started_at",
      "finished_at",
      "jobs",
      "commit",
      "tree",
      "dirty",
      "annotations",
    ]) {
      assert.ok(key in run, `run JSON has ${key}`);
    }
    assert.equal(run.repo, dir);
    assert.equal(run.ref, "main");
    assert.equal(run.pipeline, "demo");
    assert.equal(run.commit, git(dir, "rev-parse", "HEAD"));
    assert.equal(run.tree, git(dir, "rev-parse", "HEAD^{tree}"));
    assert.equal(run.dirty, false);
    assert.equal(run.failure_kind, null);
    assert.equal(run.failure_summary, null);
    assert.equal(run.superseded_by, null);
    assert.match(run.finished_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(
      run.jobs.map((j: any) => [j.name, j.state, j.exit_code]),
      [
        ["build", "complete", 0],
        ["test", "complete", 0],
      ],
    );
    const [build, testJob] = run.jobs;
    assert.ok(testJob.started_at >= build.finished_at, "test starts after build, which it needs");
    for (const key of ["name", "state", "exit_code", "started_at", "finished_at", "log"])
      assert.ok(key in testJob.steps[0], `step JSON has ${key}`);
    assert.equal(readFileSync(testJob.steps[0].log, "utf8").trim(), "in a terminal");
    assert.equal(readFileSync(testJob.steps[1].log, "utf8").trim(), "hello");
    assert.deepEqual(
      run.annotations.map((a: any) => [a.text, a.job]),
      [[`checked run ${run.id}`, "test"]],
    );

    const logs = await quirectl(daemon.home, ["logs", String(run.id), "--job", "build", "--step", "compile"]);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(logs.stdout.replaceAll("\r\n", "\n"), "hello\n");
    const shown = await quirectlJson(daemon.home, ["runs", "show", String(run.id)]);
    assert.deepEqual(shown, run);
    const list = await quirectlJson(daemon.home, ["runs"]);
    assert.equal(list[0].id, run.id, "newest first");
  });

  test("without --wait it prints the run at once; watch follows it to the end", async () => {
    const gate = new Gate(repos.dirOutsideTmp("gate"));
    const dir = repos.make({ "quire.yml": `jobs:\n  one:\n    steps:\n      - ${JSON.stringify(gate.wait)}\n` });
    const submitted = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml")]);
    assert.ok(["pending", "active"].includes(submitted.state), submitted.state);
    const watching = quirectl(daemon.home, ["watch", String(submitted.id)]);
    gate.open();
    const watched = await watching;
    assert.equal(watched.code, 0, watched.stderr);
    assert.match(watched.stdout, /run \d+ complete/);
  });
});

describe("watching a run", () => {
  test("a run of many quick steps is sent at most every 20 ms while it runs, and its end at once, whole", async () => {
    const steps = 60;
    const dir = repos.make({ "quire.yml": `jobs:\n  many:\n    steps:\n${"      - 'true'\n".repeat(steps)}` });
    const ci = await CiClient.connect({ home: daemon.home, autostart: false });
    try {
      const submitted = await ci.submit(join(dir, "quire.yml"), readFileSync(join(dir, "quire.yml"), "utf8"));
      const started = performance.now();
      const updates: { state: string; finished: number }[] = [];
      const end = await ci.watch(submitted.id, (run) => {
        updates.push({ state: run.state, finished: run.jobs[0]!.steps.filter((s) => s.state === "complete").length });
      });
      const elapsed = performance.now() - started;
      assert.equal(end.state, "complete");
      assert.equal(end.jobs[0]!.steps.length, steps);
      // Each step's start and end is a change (120 here); the events are bounded by time instead.
      assert.ok(updates.length <= elapsed / 20 + 2, `${updates.length} events in ${elapsed.toFixed(0)} ms`);
      assert.deepEqual(updates.at(-1), { state: "complete", finished: steps }, "the last event is the run's end");
      for (let i = 1; i < updates.length; i++) assert.ok(updates[i]!.finished >= updates[i - 1]!.finished, "events never go back");
    } finally {
      ci.close();
    }
  });
});

describe("watching a run that does not exist", () => {
  test("is refused, and nothing of it is left: the run later made with that id sends that watch nothing", async () => {
    const ci = await CiClient.connect({ home: daemon.home, autostart: false });
    const stray: unknown[] = [];
    ci.connection.on("event", (frame) => stray.push(frame));
    try {
      const next = Number((await ci.list(1))[0]?.id ?? 0) + 1;
      // As a plain request: a client that has its answer sends no CANCEL (CiClient's stream would).
      const answer = CiResponse.decode(
        await ci.connection.request(Lane.CI, Buffer.from(CiRequest.encode({ watch: { id: BigInt(next) } }).finish())),
      );
      assert.deepEqual([answer.ok, answer.errorCode], [false, "QUIRE_ERR_RUN_NOT_FOUND"]);
      const dir = repos.make({ "quire.yml": "jobs:\n  one:\n    steps: [ 'true', 'true' ]\n" });
      const submitted = await ci.submit(join(dir, "quire.yml"), readFileSync(join(dir, "quire.yml"), "utf8"));
      assert.equal(Number(submitted.id), next, "the run took the id the watch asked for");
      assert.equal((await ci.watch(submitted.id, () => {})).state, "complete");
      assert.deepEqual(stray, [], "no event for the refused watch's request id");
    } finally {
      ci.close();
    }
  });
});

describe("a failing pipeline", () => {
  test("says why in the API: kind, job, step, exit code and the last lines a terminal showed", async () => {
    const dir = repos.make({
      "quire.yml": [
        "jobs:",
        "  build:",
        "    steps: [ 'echo built' ]",
        "  lint:",
        "    steps: [ 'sleep 0.2; echo linted' ]",
        "  test:",
        "    needs: [build]",
        "    steps:",
        "      - name: unit",
        "        run: |",
        "          for i in 10 50 90; do printf '\\rprogress %d%%' $i; sleep 0.02; done",
        "          printf '\\n\\033[31mFAIL\\033[0m expected 42\\n'",
        "          exit 3",
        "  package:",
        "    needs: [test]",
        "    steps: [ 'echo never' ]",
      ].join("\n"),
    });
    const r = await quirectl(daemon.home, ["run", join(dir, "quire.yml"), "--wait", "--json"]);
    assert.equal(r.code, 1, r.stderr);
    const run = JSON.parse(r.stdout);
    assert.equal(run.state, "failed");
    assert.equal(run.failure_kind, "pipeline-failure");
    const jobs = Object.fromEntries(run.jobs.map((j: any) => [j.name, j]));
    assert.equal(jobs.test.state, "failed");
    assert.equal(jobs.test.exit_code, 3);
    assert.equal(jobs.package.state, "skipped", "a failed job skips its dependents");
    assert.equal(jobs.lint.state, "complete", "independent jobs go on");
    const summary: string = run.failure_summary;
    assert.ok(summary.length <= 600);
    assert.match(summary, /test/);
    assert.match(summary, /unit/);
    assert.match(summary, /3/);
    assert.match(summary, /progress 90%/);
    assert.doesNotMatch(summary, /progress 10%/, "the progress bar resolves to its last state");
    assert.match(summary, /FAIL expected 42/);
    assert.doesNotMatch(summary, /\x1b/, "no ANSI");
  });

  test("the summary stays within 600 characters for long output", async () => {
    const dir = repos.make({
      "quire.yml":
        "jobs:\n  noisy:\n    steps:\n      - run: for i in $(seq 1 300); do echo \"line $i $(printf 'x%.0s' $(seq 1 150))\"; done; exit 1\n",
    });
    const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"], 1);
    assert.ok(run.failure_summary.length <= 600, `${run.failure_summary.length} characters`);
    assert.match(run.failure_summary, /line 300/);
  });

  test("a step timeout and a job timeout fail the run as timeout", async () => {
    const dir = repos.make({
      "step.yml": "jobs:\n  slow:\n    steps:\n      - run: sleep 30\n        timeout: 300ms\n",
      "job.yml": "jobs:\n  slow:\n    timeout: 300ms\n    steps:\n      - sleep 0.05\n      - sleep 30\n      - echo never\n",
    });
    for (const file of ["step.yml", "job.yml"]) {
      const run = await quirectlJson(daemon.home, ["run", join(dir, file), "--wait"], 1);
      assert.equal(run.failure_kind, "timeout", file);
      assert.equal(run.jobs[0].state, "failed");
    }
  });

  test("retries re-run a failed job and record each attempt", async () => {
    const dir = repos.make({
      "quire.yml": "jobs:\n  flaky:\n    retries: 2\n    steps:\n      - run: echo x >> attempts; test $(wc -l < attempts) -ge 2\n",
    });
    const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
    const job = run.jobs[0];
    assert.equal(job.state, "complete");
    assert.equal(job.attempt, 2);
    assert.deepEqual(
      job.attempts.map((a: any) => a.steps.map((s: any) => s.state)),
      [["failed"], ["complete"]],
    );
  });

  test("a bad pipeline file is refused before anything runs: exit 2, file:line:column", async () => {
    const dir = repos.make({ "quire.yml": "jobs:\n  build:\n    stepz:\n      - echo hi\n" });
    const r = await quirectl(daemon.home, ["run", join(dir, "quire.yml")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`${join(dir, "quire.yml").replaceAll("/", "\\/")}:3:5`));
    assert.match(r.stderr, /steps/);
    const missing = await quirectl(daemon.home, ["run", join(dir, "nope.yml")]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.yml/);
  });

  test("an unknown run id exits 1 with a message", async () => {
    for (const args of [
      ["runs", "show", "999999"],
      ["logs", "999999"],
      ["cancel", "999999"],
      ["watch", "999999"],
    ]) {
      const r = await quirectl(daemon.home, args);
      assert.equal(r.code, 1, args.join(" "));
      assert.match(r.stderr, /999999/);
    }
  });
});

/**
 * A pipeline whose steps write their shell's pid into `pidDir` and then sleep, in jobs named `names`; unsandboxed,
 * since a sandbox's pid namespace would renumber the pid and its /tmp is its own (sandbox.test.ts has the sandboxed case).
 */
function sleepers(names: string[]): { dir: string; pidDir: string; file: string } {
  const pidDir = repos.dir("pids");
  const jobs = names.map((n) => `  ${n}:\n    sandbox: false\n    steps:\n      - echo $$ > ${pidDir}/${n}; sleep 300 & wait\n`).join("");
  const dir = repos.make({ "quire.yml": `jobs:\n${jobs}` });
  return { dir, pidDir, file: join(dir, "quire.yml") };
}

async function stepProcesses(pidDir: string, names: string[]) {
  await eventually(
    () => names.every((n) => existsSync(join(pidDir, n)) && readFileSync(join(pidDir, n), "utf8").endsWith("\n")),
    "the steps to start",
    20_000,
  );
  return names.map((n) => identify(Number(readFileSync(join(pidDir, n), "utf8"))));
}

describe("stopping runs", () => {
  test("cancel ends every step's whole tree; cancelling again changes nothing", async () => {
    const { pidDir, file } = sleepers(["a", "b"]);
    const run = await quirectlJson(daemon.home, ["run", file]);
    const steps = await stepProcesses(pidDir, ["a", "b"]);
    const cancelled = await quirectlJson(daemon.home, ["cancel", String(run.id)]);
    assert.equal(cancelled.state, "cancelled");
    assert.deepEqual(
      cancelled.jobs.map((j: any) => j.state),
      ["cancelled", "cancelled"],
    );
    for (const step of steps) assert.equal(alive(step), false, `step ${step.pid} ended`);
    const again = await quirectlJson(daemon.home, ["cancel", String(run.id)]);
    assert.equal(again.state, "cancelled");
    assert.equal(again.finished_at, cancelled.finished_at);
  });

  test("a newer run of the same pipeline on the same ref supersedes the live one", async () => {
    const { pidDir, file } = sleepers(["only"]);
    const first = await quirectlJson(daemon.home, ["run", file]);
    const [step] = await stepProcesses(pidDir, ["only"]);
    rmSync(join(pidDir, "only"));
    const second = await quirectlJson(daemon.home, ["run", file]);
    await eventually(() => !alive(step!), "the superseded run's step to end");
    const old = await quirectlJson(daemon.home, ["runs", "show", String(first.id)]);
    assert.equal(old.state, "superseded");
    assert.equal(old.superseded_by, second.id);
    assert.equal(old.failure_kind, null);
    await stepProcesses(pidDir, ["only"]);
    await quirectlJson(daemon.home, ["cancel", String(second.id)]);
  });
});

describe("secrets and run tokens", () => {
  test("a secret reaches only the jobs that list it and appears in no log, summary, answer or file", async () => {
    const value = `s3cr3t-${Math.random().toString(36).slice(2)}`;
    const set = await quirectl(daemon.home, ["secret", "set", "DEPLOY_KEY"], { input: `${value}\n` });
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(await quirectlJson(daemon.home, ["secret", "list"]), ["DEPLOY_KEY"]);
    const dir = repos.make({
      "quire.yml": [
        "jobs:",
        "  deploy:",
        "    secrets: [DEPLOY_KEY]",
        "    steps:",
        '      - run: echo "key=$DEPLOY_KEY"',
        '      - run: quirectl annotate "used $DEPLOY_KEY"',
        '      - run: echo "$DEPLOY_KEY" >&2; exit 1',
        "  other:",
        "    steps:",
        '      - run: test -z "$DEPLOY_KEY" && echo "no key here"',
      ].join("\n"),
    });
    const r = await quirectl(daemon.home, ["run", join(dir, "quire.yml"), "--wait", "--json"]);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(!r.stdout.includes(value), "not in --json output");
    const run = JSON.parse(r.stdout);
    assert.equal(run.jobs.find((j: any) => j.name === "other").state, "complete", "other jobs do not get it");
    assert.match(readFileSync(run.jobs[0].steps[0].log, "utf8"), /key=\*\*\*/);
    assert.match(run.failure_summary, /\*\*\*/);
    assert.match(run.annotations[0].text, /used \*\*\*/);
    const logs = await quirectl(daemon.home, ["logs", String(run.id)]);
    assert.ok(!logs.stdout.includes(value), "not in quirectl logs");
    const leaks = filesUnder(daemon.home).filter((f) => readFileSync(f).includes(value));
    assert.deepEqual(leaks, [], "no file under QUIRE_HOME holds the value");
    assert.equal((await quirectl(daemon.home, ["secret", "rm", "DEPLOY_KEY"])).code, 0);
    assert.deepEqual(await quirectlJson(daemon.home, ["secret", "list"]), []);
  });

  test("a pipeline naming a secret that is not set is refused", async () => {
    const dir = repos.make({ "quire.yml": "jobs:\n  x:\n    secrets: [NOT_SET]\n    steps: [ 'true' ]\n" });
    const r = await quirectl(daemon.home, ["run", join(dir, "quire.yml")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /NOT_SET/);
    assert.match(r.stderr, /quirectl secret set/);
  });

  test("annotate refuses a forged token and the token of a run that has ended", async () => {
    const forged = await quirectl(daemon.home, ["annotate", "hello"], { env: { QUIRE_RUN_TOKEN: "00".repeat(32) } });
    assert.equal(forged.code, 1);
    // Not from the step's log, which shows the token redacted: from a file outside the workspace.
    const out = repos.dir("token");
    // Unsandboxed: a sandboxed step's /tmp is its own, and `out` lies there.
    const dir = repos.make({
      "quire.yml": `jobs:\n  t:\n    sandbox: false\n    steps:\n      - echo "$QUIRE_RUN_TOKEN" > ${join(out, "token")}\n`,
    });
    const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
    const token = readFileSync(join(out, "token"), "utf8").trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    const late = await quirectl(daemon.home, ["annotate", "too late"], { env: { QUIRE_RUN_TOKEN: token } });
    assert.equal(late.code, 1, "a finished run's token is dead");
    const outside = await quirectl(daemon.home, ["annotate", "no token"], { env: { QUIRE_RUN_TOKEN: "" } });
    assert.equal(outside.code, 2);
  });
});

describe("the exact tree", () => {
  test("a dirty working copy runs as it is and is left byte-identical", async () => {
    const dir = repos.make({
      "quire.yml": "jobs:\n  look:\n    steps:\n      - cat tracked.txt new.txt; echo changed > tracked.txt\n",
      "tracked.txt": "committed\n",
      ".gitignore": "ignored.txt\n",
    });
    writeFiles(dir, { "tracked.txt": "edited\n", "new.txt": "untracked\n", "ignored.txt": "ignored\n" });
    const before = workingCopyState(dir);
    const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
    assert.equal(run.dirty, true);
    assert.equal(run.commit, git(dir, "rev-parse", "HEAD"));
    assert.notEqual(run.tree, git(dir, "rev-parse", "HEAD^{tree}"));
    assert.equal(readFileSync(run.jobs[0].steps[0].log, "utf8").replaceAll("\r\n", "\n"), "edited\nuntracked\n");
    assert.deepEqual(workingCopyState(dir), before, "status, index, stash, files and mtimes unchanged");
  });

  test("a pipeline outside git runs in a copy of its directory", async () => {
    const dir = repos.dir("plain");
    writeFiles(dir, { "quire.yml": "jobs:\n  j:\n    steps:\n      - cat data.txt; echo scribble > data.txt\n", "data.txt": "plain\n" });
    const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
    assert.equal(run.commit, null);
    assert.equal(readFileSync(join(dir, "data.txt"), "utf8"), "plain\n");
    assert.match(readFileSync(run.jobs[0].steps[0].log, "utf8"), /plain/);
  });
});

/** Files (with .git/index) first, then git's view, asked without letting git refresh the index itself. */
function workingCopyState(dir: string) {
  const files = filesUnder(dir)
    .filter((f) => !f.includes(`${join(dir, ".git")}/`) || f.endsWith("/.git/index"))
    .sort()
    .map((f) => [f, readFileSync(f).toString("base64"), statSync(f).mtimeMs]);
  return {
    files,
    status: git(dir, "--no-optional-locks", "status", "--porcelain=v2", "--untracked-files=all"),
    stash: git(dir, "stash", "list"),
    refs: git(dir, "show-ref"),
  };
}

describe("logs", () => {
  test("--follow on a live run gets every byte, in order, and ends with the run", async () => {
    const dir = repos.make({
      "quire.yml":
        "jobs:\n  count:\n    steps:\n      - for i in $(seq 1 200); do echo line $i; sleep 0.002; done\n      - echo second step\n",
    });
    const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml")]);
    const followed = await quirectl(daemon.home, ["logs", String(run.id), "--follow", "--raw"]);
    assert.equal(followed.code, 0, followed.stderr);
    const expected = Array.from({ length: 200 }, (_, i) => `line ${i + 1}`).join("\n") + "\nsecond step\n";
    assert.equal(followed.stdout.replaceAll("\r\n", "\n"), expected);
  });

  // Regression: a follower that reached a job's last step after an attempt had failed and before its retry
  // was recorded found no next step and answered at once, with the run still active and the retry's log
  // never sent. Between the two the runner ends what the attempt left behind: here a daemon that ignores
  // SIGTERM, which holds the window open for the 2 s kill grace.
  test("--follow started between a failed attempt and its retry follows the retry to the run's end", async () => {
    const step = `setsid bash -c "trap '' TERM HUP; sleep 30" </dev/null >/dev/null 2>&1 & echo attempt $(( $(cat attempts 2>/dev/null || echo 0) + 1 )); echo $(( $(cat attempts 2>/dev/null || echo 0) + 1 )) > attempts; test $(cat attempts) -ge 2`;
    const dir = repos.make({ "quire.yml": `jobs:\n  flaky:\n    retries: 1\n    steps:\n      - run: '${step.replaceAll("'", "''")}'\n` });
    const ci = await CiClient.connect({ home: daemon.home, autostart: false });
    try {
      const submitted = await ci.submit(join(dir, "quire.yml"), readFileSync(join(dir, "quire.yml"), "utf8"));
      const firstFailed = await eventually(
        async () => {
          const job = (await ci.get(submitted.id)).jobs[0]!;
          return job.steps[0]?.state === "failed" && job;
        },
        "the first attempt to fail",
        30_000,
      );
      assert.equal(firstFailed.steps.length, 1, "the retry is not recorded yet");
      const chunks: string[] = [];
      const end = await ci.logs(submitted.id, { follow: true }, (chunk) =>
        chunks.push(`${chunk.attempt}: ${Buffer.from(chunk.data).toString()}`),
      );
      assert.equal(end.state, "complete", "the answer comes with the run's end");
      assert.deepEqual(chunks.join("").replaceAll("\r\n", "\n"), "1: attempt 1\n2: attempt 2\n");
    } finally {
      ci.close();
    }
  });
});
