// GitHub's `concurrency:` through a real quired, each with two or three submits: a workflow's group keeps
// one run in progress and one waiting (a newer waiting run supersedes the older one), cancel-in-progress
// supersedes the run in progress; a job's group does the same between jobs of different runs.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { eventually } from "../../helpers/eventually.js";
import { Gate } from "../../helpers/gate.js";
import { tempRepos } from "../../helpers/git.js";
import { quirectl, quirectlJson } from "../../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
const gates: Record<string, Gate> = {};

const workflow = (concurrency: string, wait: string) => `on: push
${concurrency}
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: ${wait}; echo "deployed $GITHUB_RUN_ID"
`;

const jobGroup = (cancel: boolean, wait: string) => `on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    concurrency:
      group: production-\${{ github.repository != '' }}
      cancel-in-progress: ${cancel}
    steps:
      - run: ${wait}; echo deployed
  other:
    runs-on: ubuntu-latest
    steps:
      - run: echo "not in the group"
`;

// The steps of overlap.yml say on loopback when they start and when the first, told to stop (INT, then
// TERM, then KILL after the grace), exits. The first holds its exit until a second start arrives or a
// moment has passed, so that a second run starting while the first still runs shows as a start before the exit.
const events: string[] = [];
let exiting: (() => void) | undefined;
const server = createServer((request, response) => {
  if (request.url === "/start") {
    events.push("start");
    exiting?.();
    response.end(String(events.filter((e) => e === "start").length));
    return;
  }
  const timer = setTimeout(() => exiting?.(), 1_000);
  exiting = () => {
    exiting = undefined;
    clearTimeout(timer);
    events.push("exited");
    response.end();
  };
});

const overlap = (port: number) => `on: push
concurrency:
  group: overlap
  cancel-in-progress: true
jobs:
  deploy:
    runs-on: ubuntu-latest
    steps:
      - run: |
          hit() { node -e 'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))' "http://127.0.0.1:${port}/$1"; }
          [ "$(hit start)" = 1 ] || exit 0
          # The exit is said with builtins only: a program started now would get the signals that follow.
          bye() { exec 3<>/dev/tcp/127.0.0.1/${port}; printf 'GET /exit HTTP/1.0\\r\\n\\r\\n' >&3; read -r -u 3 _ || true; }
          trap 'trap "" HUP INT TERM; bye; exit 130' HUP INT TERM
          while true; do sleep 0.1; done
`;

before(async () => {
  daemon = await startTestDaemon();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  for (const name of ["queue", "cancel", "jobs", "hold"]) gates[name] = new Gate(repos.dirOutsideTmp(`gate-${name}`));
  repo = repos.make({
    ".github/workflows/overlap.yml": overlap((server.address() as AddressInfo).port),
    ".github/workflows/queue.yml": workflow("concurrency: deploy-${{ github.ref }}", gates.queue!.wait),
    ".github/workflows/cancel.yml": workflow(
      "concurrency:\n  group: ${{ github.workflow }}-${{ github.ref }}\n  cancel-in-progress: ${{ github.ref != 'refs/heads/never' }}",
      gates.cancel!.wait,
    ),
    ".github/workflows/job-a.yml": jobGroup(false, gates.jobs!.wait),
    ".github/workflows/job-b.yml": jobGroup(false, gates.jobs!.wait),
    ".github/workflows/job-hold.yml": jobGroup(false, gates.hold!.wait),
    ".github/workflows/job-c.yml": jobGroup(true, "true"),
  });
});
after(async () => {
  server.closeAllConnections();
  server.close();
  await daemon?.stop();
});

const submit = async (name: string) =>
  (await quirectlJson(daemon.home, ["run", "--workflow", name, "--no-cache"], 0, { cwd: repo })).id as number;
const show = (id: number) => quirectlJson(daemon.home, ["runs", "show", String(id)]);
const watch = (id: number) => quirectl(daemon.home, ["watch", String(id)]);
const jobOf = (run: { jobs: { name: string }[] }, name: string) => run.jobs.find((job) => job.name === name) as Record<string, any>;
const active = (id: number, job = "deploy") =>
  eventually(async () => jobOf(await show(id), job)?.state === "active", `run ${id}'s ${job} to start`, 30_000);

test("a workflow's group: a second run waits its turn, a third replaces it while it waits; quire's own supersede does not apply", async () => {
  const first = await submit("queue");
  await active(first);
  const second = await submit("queue");
  const queued = await show(second);
  assert.equal(queued.state, "pending");
  assert.deepEqual(
    queued.annotations.map((a: { text: string }) => a.text),
    [`queued: run ${first} of the same concurrency group is in progress; this run starts once it ends`],
  );
  assert.equal((await show(first)).state, "active", "a run in a group is not superseded by a newer run of its workflow and ref");
  const third = await submit("queue");
  const replaced = await show(second);
  assert.deepEqual([replaced.state, replaced.superseded_by], ["superseded", third]);
  assert.equal((await show(third)).state, "pending");
  gates.queue!.open();
  await watch(third);
  const [done, next] = [await show(first), await show(third)];
  assert.deepEqual([done.state, next.state], ["complete", "complete"]);
  assert.ok(next.started_at >= done.finished_at, `run ${third} started before run ${first} ended`);
});

test("cancel-in-progress (an expression): a new run of the group supersedes the one in progress", async () => {
  const first = await submit("cancel");
  await active(first);
  const second = await submit("cancel");
  const superseded = await show(first);
  assert.deepEqual([superseded.state, superseded.superseded_by], ["superseded", second]);
  gates.cancel!.open();
  await watch(second);
  assert.equal((await show(second)).state, "complete");
});

test("cancel-in-progress: the new run starts once the superseded run's steps have exited", async () => {
  const first = await submit("overlap");
  await eventually(() => events.length > 0, "run 1's step to start", 30_000);
  const second = await submit("overlap");
  await watch(second);
  const [superseded, next] = [await show(first), await show(second)];
  assert.deepEqual([superseded.state, next.state], ["superseded", "complete"]);
  assert.deepEqual(events, ["start", "exited", "start"], "run 2 started while run 1's step still ran");
});

test("a job's group, between runs: the job waits for the other run's job; with cancel-in-progress it cancels it", async () => {
  const a = await submit("job-a");
  await active(a);
  const b = await submit("job-b");
  // b's jobs were ready together: once `other` is done, deploy is waiting its turn in the group.
  await eventually(async () => jobOf(await show(b), "other")?.state === "complete", "run b's other job", 30_000);
  assert.equal(jobOf(await show(b), "deploy").state, "pending");
  gates.jobs!.open();
  await watch(b);
  const [runA, runB] = [await show(a), await show(b)];
  assert.deepEqual([runA.state, runB.state], ["complete", "complete"]);
  assert.ok(jobOf(runB, "deploy").started_at >= jobOf(runA, "deploy").finished_at, "b's deploy started before a's ended");

  // job-c cancels in progress: the job holding the group (hold's deploy) ends cancelled, and so does its run.
  const hold = await submit("job-hold");
  await active(hold);
  const c = await submit("job-c");
  await watch(c);
  await watch(hold);
  const [held, runC] = [await show(hold), await show(c)];
  assert.equal(runC.state, "complete");
  assert.deepEqual([held.state, jobOf(held, "deploy").state, jobOf(held, "other").state], ["cancelled", "cancelled", "complete"]);
});
