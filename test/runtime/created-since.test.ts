// createdSince(pidMark()) names the processes created after the mark, and not those from before it: what
// the ci backend reads at a job's end instead of every process's environment (src/ci/runner/leftovers.ts).
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { after, test } from "node:test";
import { createdSince, pidMark } from "../../src/runtime/processes.js";

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

function sleeper(): ChildProcess {
  const child = spawn("sleep", ["300"], { stdio: "ignore" });
  children.push(child);
  return child;
}

test("the processes created since a mark are named, those from before it are not", async () => {
  const before = sleeper();
  const mark = pidMark();
  if (process.platform !== "linux") return assert.equal(mark, undefined, "only Linux says where pid allocation stands");
  assert.ok(mark, "Linux says where pid allocation stands");
  const later = [sleeper(), sleeper()];
  const created = await createdSince(mark);
  assert.ok(created, "a few pids handed out since: the window can be told");
  for (const child of later) assert.ok(created.includes(child.pid!), `pid ${child.pid}, started after the mark, is named`);
  assert.ok(!created.includes(before.pid!), "the one started before the mark is not");
  assert.ok(!created.includes(process.pid), "nor this process");
});
