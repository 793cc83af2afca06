// Regression: `quirectl watch ID` piped stamped every line with the time it was printed, so watching a run
// that was already under way (or over) dated its past at the present; and one update's changes came out
// job first, so a job's `complete` line preceded its steps'. Lines now carry the times the store recorded,
// in the order things happened, and a run watched late replays its starts too.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let dir: string;
before(async () => {
  daemon = await startTestDaemon();
  // The first step takes over a second, so a line stamped when it is printed cannot pass for its start.
  dir = repos.make({
    "quire.yml":
      "jobs:\n  a:\n    steps:\n      - name: one\n        run: sleep 1.2\n      - name: two\n        run: 'true'\n  b:\n    needs: [a]\n    steps:\n      - name: three\n        run: 'true'\n",
  });
});
after(async () => {
  await daemon?.stop();
});

/** The `HH:MM:SS text` lines of a line view, without durations. */
function viewLines(stdout: string): [string, string][] {
  return stdout
    .split("\n")
    .filter((line) => /^\d\d:\d\d:\d\d /.test(line))
    .map((line) => [line.slice(0, 8), line.slice(9).replace(/ {2}\d+(\.\d)?s$/, "")]);
}

const clock = (iso: string) => iso.slice(11, 19);

test("watch of a finished run: every start and end at its recorded time, in the order it happened", async () => {
  const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
  assert.equal(run.state, "complete");
  const watched = await quirectl(daemon.home, ["watch", String(run.id)]);
  assert.equal(watched.code, 0, watched.stderr);
  const [a, b] = run.jobs;
  const [one, two] = a.steps;
  const [three] = b.steps;
  assert.deepEqual(viewLines(watched.stdout), [
    [clock(run.started_at), `run ${run.id} active`],
    [clock(a.started_at), "a active"],
    [clock(one.started_at), "a / one active"],
    [clock(one.finished_at), "a / one complete"],
    [clock(two.started_at), "a / two active"],
    [clock(two.finished_at), "a / two complete"],
    [clock(a.finished_at), "a complete"],
    [clock(b.started_at), "b active"],
    [clock(three.started_at), "b / three active"],
    [clock(three.finished_at), "b / three complete"],
    [clock(b.finished_at), "b complete"],
    [clock(run.finished_at), `run ${run.id} complete`],
  ]);
});

test("run --wait piped: the same lines as they happen, never out of order", async () => {
  // --no-cache: the first test's run of the same tree would serve every job from the job cache.
  const r = await quirectl(daemon.home, ["run", join(dir, "quire.yml"), "--wait", "--no-cache"]);
  assert.equal(r.code, 0, r.stderr);
  const texts = viewLines(r.stdout).map(([, text]) => text);
  for (const [before, after] of [
    ["a / one active", "a / one complete"],
    ["a / two complete", "a complete"],
    ["a complete", "b active"],
    ["b / three complete", "b complete"],
  ]) {
    assert.ok(texts.indexOf(before) >= 0 && texts.indexOf(before) < texts.indexOf(after), `${before} before ${after}:\n${r.stdout}`);
  }
  const times = viewLines(r.stdout).map(([time]) => time);
  assert.deepEqual(times, [...times].sort(), "the stamps never go back");
});
