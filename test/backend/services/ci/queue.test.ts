// The concurrency limit and the queue: jobs beyond the limit wait, runs wait pending until a job of
// theirs gets a slot, steps run niced, and pending runs survive a daemon's death and run afterwards.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { startTestDaemon, tempHome, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { Gate } from "../../../helpers/gate.js";
import { tempRepos } from "../../../helpers/git.js";
import { quirectlJson } from "../../../helpers/quirectl.js";

const repos = tempRepos();
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

test("with a limit of one, independent jobs run one at a time, niced, and a second run waits pending", async () => {
  const daemon = await startTestDaemon([], tempHome(), { QUIRE_CI_CONCURRENCY: "1" });
  cleanup.push(() => daemon.stop());
  // The first run's jobs hold the one slot until the gate opens.
  const gate = new Gate(repos.dirOutsideTmp("gate"));
  const held = JSON.stringify(gate.wait);
  const dir = repos.make({
    "a.yml": `jobs:\n  one:\n    steps: [ ${JSON.stringify(`${gate.wait}; nice`)} ]\n  two:\n    steps: [ ${held} ]\n  three:\n    steps: [ ${held} ]\n`,
    "b.yml": "jobs:\n  other:\n    steps: [ 'true' ]\n",
  });
  const first = await quirectlJson(daemon.home, ["run", join(dir, "a.yml")]);
  const second = await quirectlJson(daemon.home, ["run", join(dir, "b.yml")]);
  assert.equal(second.state, "pending", "no slot is free for it yet");
  gate.open();
  const done = await quirectlJson(daemon.home, ["watch", String(first.id)]);
  const jobs = done.jobs.sort((x: any, y: any) => x.started_at.localeCompare(y.started_at));
  for (let i = 1; i < jobs.length; i++) assert.ok(jobs[i].started_at >= jobs[i - 1].finished_at, "one job at a time");
  assert.equal(readFileSync(done.jobs[0].steps[0].log, "utf8").trim(), "10", "steps run at niceness 10");
  const other = await quirectlJson(daemon.home, ["watch", String(second.id)]);
  assert.equal(other.state, "complete");
  assert.ok(other.started_at >= jobs.at(-1).finished_at);
});

test("a pending run outlives the daemon's death and runs when it comes back; the active one is orphaned", async () => {
  const home = tempHome();
  const pidDir = repos.dir("pids");
  const dir = repos.make({
    // `sandbox: false`: the step writes outside its workspace, where the test sees it.
    "long.yml": `jobs:\n  hold:\n    sandbox: false\n    steps:\n      - echo $$ > ${pidDir}/pid; sleep 300\n`,
    "queued.yml": "jobs:\n  later:\n    steps: [ 'echo ran after the restart' ]\n",
  });
  let daemon: TestDaemon = await startTestDaemon([], home, { QUIRE_CI_CONCURRENCY: "1" });
  cleanup.push(() => daemon.stop());
  const long = await quirectlJson(home, ["run", join(dir, "long.yml")]);
  await eventually(() => existsSync(join(pidDir, "pid")), "the long step to start", 20_000);
  const queued = await quirectlJson(home, ["run", join(dir, "queued.yml")]);
  assert.equal(queued.state, "pending");
  daemon.process.kill("SIGKILL");
  await daemon.exited;
  daemon = await startTestDaemon([], home, { QUIRE_CI_CONCURRENCY: "1" });
  const ran = await quirectlJson(home, ["watch", String(queued.id)]);
  assert.equal(ran.state, "complete");
  assert.match(readFileSync(ran.jobs[0].steps[0].log, "utf8"), /ran after the restart/);
  const orphaned = await quirectlJson(home, ["runs", "show", String(long.id)], 0);
  assert.equal(orphaned.failure_kind, "orphaned");
});
