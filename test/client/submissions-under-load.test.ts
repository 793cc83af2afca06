// Regression (issue 16, fault 2): of 100 concurrent CiClient.submit calls, 24 failed with
// QUIRE_ERR_CONNECTION_CLOSED (their handoff's ready event came after 2 s, and the fallback could not tell
// whether the backend had read them), none of the 24 had been recorded, and the error said they "may or
// may not have run", so a script could not retry safely. Every submit now carries an idempotency key and a
// deadline, and the client sends it again on a new connection when one is lost: each submit is recorded
// exactly once, or fails with QUIRE_ERR_CI_NOT_RECORDED, and only a service that cannot be reached at all
// leaves the outcome unknown, saying so and naming the key.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { CiClient, type CiRun } from "../../src/client/ci.js";
import { connect } from "../../src/client/connect.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos } from "../helpers/git.js";

const SUBMITS = 100;
const PIPELINES = 10;

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
const clients: CiClient[] = [];
before(async () => {
  daemon = await startTestDaemon();
  const files: Record<string, string> = {};
  for (let i = 0; i < PIPELINES; i++) files[`p${i}.yml`] = `name: p${i}\njobs:\n  only:\n    steps:\n      - run: "true"\n`;
  repo = repos.make(files);
});
after(async () => {
  for (const ci of clients) ci.close();
  await daemon.stop();
});

const options = () => ({ home: daemon.home, autostart: false });

async function client(): Promise<CiClient> {
  const ci = await CiClient.connect(options());
  clients.push(ci);
  return ci;
}

/** Submits pipeline `p<n>` on a client of its own, as many scripts at once would. */
async function submitAlone(n: number): Promise<CiRun> {
  const ci = await CiClient.connect(options());
  try {
    const file = join(repo, `p${n}.yml`);
    return await ci.submit(file, readFileSync(file, "utf8"));
  } finally {
    ci.close();
  }
}

/** The run ids the store holds for the pipelines of this file. */
async function recordedIds(): Promise<number[]> {
  const ci = await client();
  return (await ci.list(10 * SUBMITS)).filter((run) => /^p\d+$/.test(run.pipeline)).map((run) => Number(run.id));
}

/**
 * Every submit was recorded exactly once or said it was not: the answered runs are distinct, and they are
 * exactly the runs recorded since `before` (so no failed submit left one behind, and none left two).
 */
async function assertRecordedOnce(outcomes: PromiseSettledResult<CiRun>[], before: number[]): Promise<void> {
  for (const outcome of outcomes) {
    if (outcome.status === "rejected") assert.equal(outcome.reason.code, "QUIRE_ERR_CI_NOT_RECORDED", outcome.reason.message);
  }
  const answered = outcomes.flatMap((o) => (o.status === "fulfilled" ? [Number(o.value.id)] : [])).sort((a, b) => a - b);
  assert.equal(new Set(answered).size, answered.length, "two submits were answered with one run");
  const recorded = (await recordedIds()).filter((id) => !before.includes(id)).sort((a, b) => a - b);
  assert.deepEqual(recorded, answered, "the runs recorded are exactly the runs the submits were answered with");
}

test(`${SUBMITS} concurrent submits of the same and of different pipelines: each is recorded exactly once or says it was not`, async () => {
  const before = await recordedIds();
  // Half of them of one pipeline (each superseding the one before), half spread over the others.
  const outcomes = await Promise.allSettled(
    Array.from({ length: SUBMITS }, (_, i) => submitAlone(i % 2 === 0 ? 0 : 1 + (i % (PIPELINES - 1)))),
  );
  await assertRecordedOnce(outcomes, before);
});

test("submits in flight when the ci backend is killed are sent again on new connections and recorded exactly once", async () => {
  const before = await recordedIds();
  const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home });
  const backend = status!.backends.find((b) => b.service === "ci")!.pid;
  let answeredBeforeKill = 0;
  const submits = Array.from({ length: 30 }, (_, i) =>
    submitAlone(i % PIPELINES).finally(() => {
      answeredBeforeKill += 1;
    }),
  );
  // Once the first is answered the backend is busy with the rest: kill it there.
  await Promise.race(submits);
  const inFlight = submits.length - answeredBeforeKill;
  process.kill(backend, "SIGKILL");
  const outcomes = await Promise.allSettled(submits);
  assert.ok(inFlight > 0, "some submits were in flight when the backend was killed");
  await assertRecordedOnce(outcomes, before);
  const respawned = (await adminCall(AdminOp.STATUS, { home: daemon.home })).status!.backends.find((b) => b.service === "ci")!;
  assert.notEqual(respawned.pid, backend, "a new ci backend answered");
});

test("a submit whose connection is lost before its answer is sent again with its key: one run, the one it returns", async () => {
  const before = await recordedIds();
  const ci = await client();
  const file = join(repo, "p3.yml");
  const submitted = ci.submit(file, readFileSync(file, "utf8"));
  const lost = ci.connection;
  lost.close(); // the link goes, the submit on it (sent or not) with it
  const run = await submitted;
  assert.notEqual(ci.connection, lost, "the client made a new connection");
  await assertRecordedOnce([{ status: "fulfilled", value: run }], before);
});

test("a submit whose answer is lost and whose client cannot connect again says the run may or may not have been recorded, naming its key", async () => {
  const before = await recordedIds();
  const key = "lost-and-unconfirmed";
  const ci = new CiClient(await connect("ci", options())); // made from a connection: it cannot make another
  clients.push(ci);
  const file = join(repo, "p4.yml");
  const submitted = ci.submit(file, readFileSync(file, "utf8"), { idempotencyKey: key });
  ci.connection.close();
  await assert.rejects(submitted, (error: Error & { code?: string; idempotencyKey?: string }) => {
    assert.equal(error.code, "QUIRE_ERR_CI_SUBMIT_UNCONFIRMED", error.message);
    assert.equal(error.idempotencyKey, key);
    assert.match(error.message, new RegExp(`may or may not have been recorded.*${key}`));
    return true;
  });
  // Sending it again with the key is how to find out: the run if the first was recorded, else a new one.
  const again = await (await client()).submit(file, readFileSync(file, "utf8"), { idempotencyKey: key });
  const thrice = await (await client()).submit(file, readFileSync(file, "utf8"), { idempotencyKey: key });
  assert.equal(thrice.id, again.id);
  await assertRecordedOnce([{ status: "fulfilled", value: again }], before);
});

test("a submit given no time to be recorded fails with QUIRE_ERR_CI_NOT_RECORDED, and nothing is recorded", async () => {
  const before = await recordedIds();
  const ci = await client();
  const file = join(repo, "p5.yml");
  const outcome = await Promise.allSettled([ci.submit(file, readFileSync(file, "utf8"), { timeoutMs: 0 })]);
  assert.equal(outcome[0]!.status, "rejected");
  await assertRecordedOnce(outcome, before);
});
