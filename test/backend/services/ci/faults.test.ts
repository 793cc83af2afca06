// What an unlucky day does to CI runs: a log that cannot be written, processes that escape their
// terminal, a ci backend killed outright, a store file that is not a database.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { adminCall, AdminOp } from "../../../../src/client/admin-calls.js";
import { startTestDaemon, tempHome, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { alive, identify } from "../../../helpers/fixtures.js";
import { tempRepos } from "../../../helpers/git.js";
import { quirectl, quirectlJson } from "../../../helpers/quirectl.js";

const repos = tempRepos();
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function daemon(home = tempHome()): Promise<TestDaemon> {
  const d = await startTestDaemon([], home);
  cleanup.push(() => d.stop());
  return d;
}

async function pidFrom(file: string) {
  await eventually(() => existsSync(file) && readFileSync(file, "utf8").endsWith("\n"), `${file} to be written`, 20_000);
  return identify(Number(readFileSync(file, "utf8")));
}

test("a step log that cannot be written fails that run as internal; the backend and other runs go on", async () => {
  const d = await daemon();
  // Run 1's first step writes its log to a device that is always full.
  mkdirSync(join(d.home, "logs", "1", "full"), { recursive: true });
  symlinkSync("/dev/full", join(d.home, "logs", "1", "full", "1-0.log"));
  const dir = repos.make({
    "full.yml": "jobs:\n  full:\n    steps: [ 'echo hello; sleep 5' ]\n",
    "fine.yml": "jobs:\n  fine:\n    steps: [ 'sleep 0.5; echo fine' ]\n",
  });
  const broken = await quirectlJson(d.home, ["run", join(dir, "full.yml")]);
  assert.equal(broken.id, 1);
  const fine = await quirectlJson(d.home, ["run", join(dir, "fine.yml"), "--wait"]);
  assert.equal(fine.state, "complete");
  const ended = await quirectlJson(d.home, ["watch", String(broken.id)], 1);
  assert.equal(ended.state, "failed");
  assert.equal(ended.failure_kind, "internal");
  assert.match(ended.failure_summary, /log/);
});

// `sandbox: false`: the step writes its pid outside its workspace, and a sandbox's pid namespace would renumber it
// (sandbox.test.ts proves the same of sandboxed steps).
test("a daemon a step starts in its own session, with its descriptors closed, ends with the job and on cancel", async () => {
  const d = await daemon();
  const pids = repos.dir("pids");
  // The step goes on once the daemon has written its pid: ending it earlier could end the daemon first.
  const escapeStep = (name: string) =>
    `setsid -f sh -c 'exec </dev/null >/dev/null 2>&1; echo $$ > ${pids}/${name}; exec sleep 300'; until [ -s ${pids}/${name} ]; do sleep 0.01; done`;
  const dir = repos.make({
    "done.yml": `jobs:\n  bg:\n    sandbox: false\n    steps:\n      - ${JSON.stringify(escapeStep("done"))}\n`,
    "cancel.yml": `jobs:\n  bg:\n    sandbox: false\n    steps:\n      - ${JSON.stringify(escapeStep("cancel") + "; sleep 300")}\n`,
  });
  const done = await quirectlJson(d.home, ["run", join(dir, "done.yml"), "--wait"]);
  assert.equal(done.state, "complete");
  const leftover = await pidFrom(join(pids, "done"));
  await eventually(() => !alive(leftover), "the escaped daemon to end with its job");

  const run = await quirectlJson(d.home, ["run", join(dir, "cancel.yml")]);
  const escaped = await pidFrom(join(pids, "cancel"));
  await quirectlJson(d.home, ["cancel", String(run.id)]);
  assert.equal(alive(escaped), false, "cancel ended it");
});

// `sandbox: false`: the step writes its pid outside its workspace, and a sandbox's pid namespace would renumber it
// (sandbox.test.ts proves the same of sandboxed steps).
test("a ci backend killed outright: the next one records the run orphaned and ends what its steps left", async () => {
  const d = await daemon();
  const pids = repos.dir("pids");
  const dir = repos.make({
    "quire.yml": `jobs:\n  stubborn:\n    sandbox: false\n    steps:\n      - trap '' HUP TERM; echo $$ > ${pids}/pid; sleep 300 & wait; sleep 300\n`,
  });
  const run = await quirectlJson(d.home, ["run", join(dir, "quire.yml")]);
  const step = await pidFrom(join(pids, "pid"));
  const { status } = await adminCall(AdminOp.STATUS, { home: d.home });
  const ci = status!.backends.find((b) => b.service === "ci")!;
  process.kill(ci.pid, "SIGKILL");
  // The next ci request launches a new backend, which settles what the old one left.
  const after = await quirectlJson(d.home, ["runs", "show", String(run.id)]);
  assert.equal(after.state, "failed");
  assert.equal(after.failure_kind, "orphaned");
  await eventually(() => !alive(step), "the step the killed backend left behind to end", 15_000);
});

test("a store file that is not a database: the refusal and status say so, not just 'exited with code 1'", async () => {
  const home = tempHome();
  writeFileSync(join(home, "quire.db"), Buffer.alloc(8192, 0x41));
  const d = await daemon(home);
  const r = await quirectl(d.home, ["runs"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /quire\.db|database/);
  const { status } = await adminCall(AdminOp.STATUS, { home: d.home });
  assert.match(status!.backends.find((b) => b.service === "ci")!.lastError, /quire\.db|database/);
});
