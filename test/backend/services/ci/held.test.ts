// What the ci backend keeps for a run goes when the run has ended and settled: many runs through a real
// daemon (complete, failed, cancelled, watched, their logs followed) leave every per-run structure it
// reports on METRICS (quire_ci_held: executions, watchers, followers, processes kept for their leftovers,
// the verdicts' and metrics' own bookkeeping) at 0, as they were before the first run.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../../../src/client/admin-calls.js";
import { CiClient } from "../../../../src/client/ci.js";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { Gate } from "../../../helpers/gate.js";
import { tempRepos } from "../../../helpers/git.js";
import { parsePrometheus } from "../../../helpers/prometheus.js";

const repos = tempRepos();
let daemon: TestDaemon;
let ci: CiClient;
before(async () => {
  daemon = await startTestDaemon();
  ci = await CiClient.connect({ home: daemon.home, autostart: false });
});
after(async () => {
  ci?.close();
  await daemon?.stop();
});

/** quire_ci_held's samples, by what. */
async function held(): Promise<Record<string, number>> {
  const { metricsText } = await adminCall(AdminOp.METRICS, { home: daemon.home, timeoutMs: 10_000 });
  const family = parsePrometheus(metricsText).get("quire_ci_held");
  assert.ok(family, "the ci backend reports what it holds");
  return Object.fromEntries(family.samples.map((s) => [s.labels.what!, s.value]));
}

const nonZero = (h: Record<string, number>) => Object.entries(h).filter(([, n]) => n !== 0);

test("after many runs of every ending, nothing the ci backend holds for a run is left", async () => {
  const gate = new Gate(repos.dirOutsideTmp("gate"));
  const dir = repos.make({
    "ok.yml": "jobs:\n  a:\n    steps: [ 'echo one', 'echo two' ]\n  b:\n    needs: [a]\n    steps: [ 'true' ]\n",
    "fails.yml": "jobs:\n  a:\n    steps: [ 'echo no; exit 3' ]\n",
    "held.yml": `jobs:\n  a:\n    steps: [ ${JSON.stringify(`${gate.wait}; sleep 300 & echo waited`)} ]\n`,
    "cancelled.yml": "jobs:\n  a:\n    steps: [ 'sleep 300' ]\n",
  });
  const text = (name: string) => readFileSync(join(dir, name), "utf8");

  // While a run is live its structures are there: the metric counts something real.
  const live = await ci.submit(join(dir, "held.yml"), text("held.yml"));
  const watching = ci.watch(live.id, () => {});
  const following = ci.logs(live.id, { follow: true }, () => {});
  await eventually(async () => (await held()).step_processes === 1, "the held step to run");
  const during = await held();
  assert.equal(during.executions, 1);
  assert.ok(during.streams! >= 2, "the watch and the follow are streams");
  gate.open();
  assert.equal((await watching).state, "complete");
  await following;

  for (let round = 0; round < 8; round++) {
    assert.equal((await ci.watch((await ci.submit(join(dir, "ok.yml"), text("ok.yml"))).id, () => {})).state, "complete");
    const failed = await ci.submit(join(dir, "fails.yml"), text("fails.yml"));
    await ci.logs(failed.id, { follow: true }, () => {});
    assert.equal((await ci.get(failed.id)).state, "failed");
    const doomed = await ci.submit(join(dir, "cancelled.yml"), text("cancelled.yml"));
    await eventually(async () => (await ci.get(doomed.id)).state === "active", "the run to start");
    assert.equal((await ci.cancel(doomed.id)).state, "cancelled");
  }
  await eventually(async () => nonZero(await held()).length === 0, "every per-run structure to be let go", 30_000).catch(async (error) => {
    assert.deepEqual(nonZero(await held()), [], (error as Error).message);
  });
});
