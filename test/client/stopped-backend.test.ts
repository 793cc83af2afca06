// Regression: `quirectl run` submitted while the ci backend was stopped (SIGSTOP) failed after 12 s with
// exit 1 ("may or may not have run") and nothing recorded. The handoff's ready event did not come, the
// client closed the handed-off connection and reconnected to the stopped backend's socket, and when the
// liveness check killed the backend that reconnect was reset: the client could no longer tell whether the
// submit had reached anyone. It now keeps reading the handed-off connection while it reconnects; the
// backend's death closes that connection unread, which proves the submit ran nowhere, so the client starts
// over with the broker and is served by the respawned backend, once.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { alive, identify } from "../helpers/fixtures.js";
import { tempRepos } from "../helpers/git.js";
import { quirectlJson } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
const stopped: ProcessIdentity[] = [];
before(async () => {
  // Killed after 5 s unanswered: later than the client's 2 s wait for the ready event, which is the case that failed.
  daemon = await startTestDaemon(["--liveness-interval-ms", "100", "--liveness-timeout-ms", "5000"]);
  repo = repos.make({ "quire.yml": "jobs:\n  only:\n    steps:\n      - echo recorded\n" });
});
after(async () => {
  for (const p of stopped) signalProcess(p, "SIGKILL");
  await daemon.stop();
});

async function ciBackend() {
  const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home });
  return status!.backends.find((b) => b.service === "ci")!;
}

test("a run submitted while the ci backend is stopped waits for the respawn and is recorded once", async () => {
  assert.deepEqual(await quirectlJson(daemon.home, ["runs"]), [], "the ci backend is up, with no runs");
  const first = await ciBackend();
  assert.equal(first.state, "ready");
  const backend = identify(first.pid);
  stopped.push(backend);
  signalProcess(backend, "SIGSTOP");

  const run = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml")]);
  assert.ok(run.id > 0, JSON.stringify(run));
  assert.equal(alive(backend), false, "the stopped backend was killed by the liveness check");
  const respawned = await ciBackend();
  assert.notEqual(respawned.pid, first.pid);
  const runs = await quirectlJson(daemon.home, ["runs"]);
  assert.deepEqual(
    runs.map((r: { id: number }) => r.id),
    [run.id],
    "the submit was recorded exactly once",
  );
});
