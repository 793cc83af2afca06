// Regression: a server a step started in the background (`setsid nohup server &`, `nohup server &`,
// `( server & )`, `server & disown`) was gone by the next step, though README promises that what a job's
// steps leave running ends with the job. Three things ended it at the step's end: the kernel's SIGHUP to
// the terminal's foreground process group when the step's shell (the session leader) exited, the
// runtime ending what was left in the step's session or on its terminal, and, for `setsid nohup`, losing
// the race between the two and the server's own setsid/nohup (node resets the SIGHUP that nohup ignores,
// so only a server still starting up survived). Several jobs at once here, each starting a server in
// step 1 and talking to it in steps 2 and 3 (a server that did not redirect its output writes to step
// 1's terminal as it answers); once the run is over no server may be left.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { alive, fixture } from "../../../helpers/fixtures.js";
import { tempRepos } from "../../../helpers/git.js";
import { quirectl } from "../../../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon | undefined;
after(async () => {
  await daemon?.stop();
});

const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
const SERVER = `${quote(process.execPath)} ${quote(fixture("pong-server.js"))}`;

/** How step 1 starts the server, which writes `pid start-time port` to `file` once it listens. */
const WAYS: Record<string, (file: string) => string> = {
  "setsid-nohup": (file) => `setsid nohup ${SERVER} ${file} &`,
  nohup: (file) => `nohup ${SERVER} ${file} &`,
  subshell: (file) => `( ${SERVER} ${file} & )`,
  disown: (file) => `${SERVER} ${file} & disown`,
};

/** Waits (bounded) for the server's file, then asks it once: the step fails unless it answers. */
function ping(file: string): string {
  return [
    `for i in $(seq 400); do test -s ${file} && break; sleep 0.05; done`,
    `read -r pid start port < ${file}`,
    `exec 3<>/dev/tcp/127.0.0.1/$port`,
    `echo ping >&3`,
    `read -r -t 30 reply <&3`,
    `test "$reply" = pong`,
  ].join("; ");
}

test("servers steps start in the background serve their job's later steps and end with the job, with several jobs at once", async () => {
  const JOBS = 8;
  daemon = await startTestDaemon([], undefined, { QUIRE_CI_CONCURRENCY: String(JOBS) });
  const files = repos.dir("servers");
  const ways = Object.entries(WAYS);
  const jobs = Array.from({ length: JOBS }, (_, i) => {
    const [way, start] = ways[i % ways.length]!;
    const name = `${way}-${i}`;
    const file = join(files, name);
    return { name, file, steps: [start(file), ping(file), ping(file)] };
  });
  // `sandbox: false`: the servers write their pids outside the workspace, which a sandbox's pid namespace
  // would renumber (sandbox.test.ts has the sandboxed case).
  const yaml = [
    "jobs:",
    ...jobs.flatMap((j) => [
      `  ${j.name}:`,
      "    timeout: 2m",
      "    sandbox: false",
      "    steps:",
      ...j.steps.map((s) => `      - ${JSON.stringify(s)}`),
    ]),
  ].join("\n");
  const dir = repos.make({ "quire.yml": `${yaml}\n` });

  const ran = await quirectl(daemon.home, ["run", join(dir, "quire.yml"), "--wait", "--json"], { timeoutMs: 110_000 });
  const shown = JSON.parse(ran.stdout);
  assert.deepEqual(
    Object.fromEntries(shown.jobs.map((j: any) => [j.name, j.steps.map((s: any) => s.state).join(",")])),
    Object.fromEntries(jobs.map((j) => [j.name, "complete,complete,complete"])),
    `every server answered steps 2 and 3 of its job: ${shown.failure_summary}`,
  );
  for (const job of jobs) {
    const [pid, startTime] = readFileSync(job.file, "utf8").trim().split(" ");
    const server = { pid: Number(pid), startTime: startTime! };
    await eventually(() => !alive(server), `the server of job ${job.name} to have ended with its job`, 10_000);
  }
});
