// Regression: QUIRE_RUN_TOKEN was a bearer token for a whole run, shown in its logs, and the job and
// step an annotation was labelled with were whatever the caller said: a step of run B could annotate run
// A with A's token and a job A does not have. Now each step has its own token, which the daemon maps to
// its run, job and step, which lives only while that step runs, and which is redacted like a secret.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { Gate } from "../../../helpers/gate.js";
import { tempRepos } from "../../../helpers/git.js";
import { quirectl, quirectlJson } from "../../../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let files: string;
before(async () => {
  daemon = await startTestDaemon();
  files = repos.dir("tokens");
});
after(async () => {
  await daemon?.stop();
});

/**
 * Unsandboxed: the tokens travel between runs through files in /tmp, as they could for a hostile step
 * where there is no sandbox (a sandboxed step's /tmp is its own); the binding must hold even then.
 */
/** The run's annotations but the warnings that its jobs run without the sandbox. */
const notes = (run: { annotations: { text: string; job: string; step: string | null }[] }) =>
  run.annotations.filter((a) => !a.text.startsWith("warning: job "));

function pipeline(jobs: Record<string, string[]>): string {
  const yaml = [
    "jobs:",
    ...Object.entries(jobs).flatMap(([name, steps]) => [
      `  ${name}:`,
      "    sandbox: false",
      "    steps:",
      ...steps.map((s) => `      - ${JSON.stringify(s)}`),
    ]),
  ].join("\n");
  return join(repos.make({ "quire.yml": `${yaml}\n` }), "quire.yml");
}

/** A step line that annotates with the token in `file` and says whether that was accepted. */
const annotateWith = (file: string, text: string) =>
  `if QUIRE_RUN_TOKEN=$(cat ${file}) quirectl annotate ${JSON.stringify(text)}; then echo accepted; else echo refused; fi`;

test("a step's token is redacted from its log, labels its notes with its own job and step, and dies with the step", async () => {
  const leaked = join(files, "leaked");
  const file = pipeline({
    check: [
      `echo "token=$QUIRE_RUN_TOKEN"; echo "$QUIRE_RUN_TOKEN" > ${leaked}`,
      'QUIRE_JOB=deploy QUIRE_STEP=ship quirectl annotate "labelled by the daemon"',
      annotateWith(leaked, "with the first step's token"),
    ],
    deploy: ["true"],
  });
  const run = await quirectlJson(daemon.home, ["run", file, "--wait"]);
  assert.equal(run.state, "complete", run.failure_summary);
  const [leak, label, stale] = run.jobs[0].steps;
  const token = readFileSync(leaked, "utf8").trim();
  assert.match(token, /^[0-9a-f]{64}$/);
  const log = readFileSync(leak.log, "utf8");
  assert.match(log, /^token=\*\*\*\r\n$/, "redacted like a secret");
  assert.deepEqual(
    notes(run).map((a) => [a.text, a.job, a.step]),
    [["labelled by the daemon", "check", label.name]],
    "the job and step are the token's, not the caller's",
  );
  assert.match(readFileSync(stale.log, "utf8"), /refused/, "the first step's token died when it ended");
  const late = await quirectl(daemon.home, ["annotate", "after the run"], { env: { QUIRE_RUN_TOKEN: token } });
  assert.equal(late.code, 1);
  assert.match(late.stderr, /QUIRE_RUN_TOKEN/);
  assert.deepEqual(notes(await quirectlJson(daemon.home, ["runs", "show", String(run.id)])).length, 1);
});

test("a step of run B using run A's token is refused while A still runs", async () => {
  const tokenOfA = join(files, "a-token");
  const release = new Gate(files, "a-release");
  const a = await quirectlJson(daemon.home, ["run", pipeline({ a: [`echo "$QUIRE_RUN_TOKEN" > ${tokenOfA}`, release.wait] })]);
  await eventually(
    () => existsSync(tokenOfA) && readFileSync(tokenOfA, "utf8").endsWith("\n"),
    "run A's first step to write its token",
    30_000,
  );
  const b = await quirectlJson(daemon.home, ["run", pipeline({ b: [annotateWith(tokenOfA, "written by run B")] }), "--wait"]);
  assert.equal(b.state, "complete", b.failure_summary);
  assert.match(readFileSync(b.jobs[0].steps[0].log, "utf8"), /refused/);
  assert.equal((await quirectlJson(daemon.home, ["runs", "show", String(a.id)])).state, "active", "A was still running");
  release.open();
  const ended = await quirectlJson(daemon.home, ["watch", String(a.id)]);
  assert.equal(ended.state, "complete");
  assert.deepEqual(notes(ended), [], "nothing reached run A");
  assert.deepEqual(notes(b), []);
});
