// quired SIGKILLed in the middle of a run: the ci backend ends its steps' trees and exits, and the next
// daemon records the run as failed/orphaned, with its jobs and steps ended too.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { startTestDaemon, tempHome, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { alive, identify } from "../../../helpers/fixtures.js";
import { tempRepos } from "../../../helpers/git.js";
import { quirectlJson } from "../../../helpers/quirectl.js";

const repos = tempRepos();
const cleanup: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

test("SIGKILL of quired mid-run: no step process is left, and the restarted daemon says orphaned", async () => {
  const home = tempHome();
  const pidDir = repos.dir("pids");
  // Ignoring SIGHUP and SIGTERM: only a tree kill that goes on to SIGKILL ends this step. `sandbox: false`: it
  // writes its pid outside its workspace, which a sandbox's pid namespace would renumber (sandbox.test.ts has the sandboxed case).
  const dir = repos.make({
    "quire.yml": `jobs:\n  stubborn:\n    sandbox: false\n    steps:\n      - trap '' HUP TERM INT; echo $$ > ${pidDir}/pid; sleep 300 & wait; sleep 300\n`,
  });

  let daemon: TestDaemon = await startTestDaemon([], home);
  cleanup.push(() => daemon.stop());
  const run = await quirectlJson(home, ["run", join(dir, "quire.yml")]);
  await eventually(
    () => existsSync(join(pidDir, "pid")) && readFileSync(join(pidDir, "pid"), "utf8").endsWith("\n"),
    "the step to start",
    20_000,
  );
  const step = identify(Number(readFileSync(join(pidDir, "pid"), "utf8")));
  const [ciBackend] = await daemon.backendPids();
  const backend = identify(ciBackend!);

  daemon.process.kill("SIGKILL");
  await daemon.exited;
  await eventually(() => !alive(step), "the step's tree to end", 15_000);
  await eventually(() => !alive(backend), "the orphaned ci backend to exit", 15_000);

  daemon = await startTestDaemon([], home);
  const after = await quirectlJson(home, ["runs", "show", String(run.id)]);
  assert.equal(after.state, "failed");
  assert.equal(after.failure_kind, "orphaned");
  assert.ok(after.failure_summary.length > 0);
  assert.equal(after.jobs[0].state === "active" || after.jobs[0].steps[0].state === "active", false, "jobs and steps ended too");
});
