// Issue 16, faults 10 and 8. A step could read everything the person can (secret.key, the store, other
// runs' logs and workspaces) and write anywhere, and a repository symlink to a file outside the tree let
// `echo x > link` in a step rewrite the real file. Steps now run in a sandbox by default: these real runs
// show what a sandboxed step can and cannot reach, that its toolchains still work, that `sandbox: false`
// runs as before with a warning on the run, that `network: false` keeps a step off a loopback port the
// test listens on, that what a sandboxed step leaves running still ends, and that without the sandbox a
// checkout whose symlinks lead out of it does not run.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { ProcessIdentity } from "../../../../src/runtime/processes.js";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { alive, fixture, identify } from "../../../helpers/fixtures.js";
import { git, tempRepos } from "../../../helpers/git.js";
import { quirectl, quirectlJson } from "../../../helpers/quirectl.js";

const repos = tempRepos();
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

/** The person's files: outside /tmp (a sandboxed step's /tmp is its own), read-only in the sandbox. */
function personDir(files: Record<string, string> = {}): string {
  const dir = repos.dirOutsideTmp("person");
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** quire.yml with these jobs, each `{ fields, steps }`; steps are quoted as JSON (which YAML reads). */
function pipeline(jobs: Record<string, { fields?: string[]; steps: string[] }>): string {
  const lines = ["jobs:"];
  for (const [name, job] of Object.entries(jobs)) {
    lines.push(
      `  ${name}:`,
      ...(job.fields ?? []).map((f) => `    ${f}`),
      "    steps:",
      ...job.steps.map((s) => `      - ${JSON.stringify(s)}`),
    );
  }
  return `${lines.join("\n")}\n`;
}

/** A shell function for a step: `refused CMD...` fails the step, naming CMD, if CMD succeeds. */
const REFUSED = `refused() { if "$@" >/dev/null 2>&1; then echo "LEAK: $*"; exit 1; fi; echo "refused: $*"; }`;

function log(run: any, job: string, step = 0): string {
  return readFileSync(run.jobs.find((j: any) => j.name === job).steps[step].log, "utf8");
}

/**
 * The processes named `marker` (a step names them with `exec -a`), as seen from here, whatever their pid
 * in the sandbox. By argv[0] alone: bwrap's own command line holds the step's script, marker included.
 */
function marked(marker: string): ProcessIdentity[] {
  const found: ProcessIdentity[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0")[0] === marker) found.push(identify(Number(name)));
    } catch {}
  }
  return found;
}

/** The pids of the processes whose environment holds `entry` (NAME=value), as seen from here. */
function environs(entry: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(entry)) found.push(Number(name));
    } catch {}
  }
  return found;
}

function markedOnce(marker: string): Promise<ProcessIdentity> {
  return eventually(() => marked(marker)[0], `a process named ${marker}`, 20_000);
}

describe("a sandboxed step", { skip: process.platform !== "linux" && "the sandbox is Linux's (bubblewrap)" }, () => {
  let d: TestDaemon;
  /** A failed run's first step's log and its kept workspace: another run's files. */
  let other: { log: string; workspace: string; marker: string };
  const rand = randomBytes(6).toString("hex");

  before(async () => {
    d = await startTestDaemon();
    cleanup.push(() => d.stop());
    const set = await quirectl(d.home, ["secret", "set", "SANDBOX_TEST"], { input: "a value of the store\n" });
    assert.equal(set.code, 0, set.stderr);
    const marker = `other-run-${rand}`;
    const dir = repos.make({ "quire.yml": pipeline({ first: { steps: [`echo ${marker}; exit 3`] } }) });
    const run = await quirectlJson(d.home, ["run", join(dir, "quire.yml"), "--wait"], 1);
    other = { log: run.jobs[0].steps[0].log, workspace: join(d.home, "work", String(run.id)), marker };
    assert.ok(
      existsSync(other.log) && existsSync(join(d.home, "secret.key")) && existsSync(other.workspace),
      "the other run's log and workspace, and secret.key, are there",
    );
  });

  test("cannot read secret.key, the store, another run's log or workspace; writes its workspace, its caches and its job's /tmp only; has its terminal", async () => {
    const person = personDir({ "notes.txt": "the person's notes\n" });
    const homeProbe = join(homedir(), `quire-sandbox-probe-${rand}`);
    const dir = repos.make({ "quire.yml": "" });
    // The pipeline names the repository's own directory, so it is written once the repository is there.
    writeFileSync(
      join(dir, "quire.yml"),
      pipeline({
        confined: {
          steps: [
            "test -t 0 && test -t 1 && echo 'in a terminal'",
            `${REFUSED}; refused cat "$QUIRE_HOME/secret.key"; refused cat "$QUIRE_HOME/quire.db"; refused cat ${other.log}; refused ls ${other.workspace}; refused ls "$QUIRE_HOME/logs"`,
            "echo made > made.txt && test \"$(cat made.txt)\" = made && echo 'wrote the workspace'",
            // Of quire's object stores it sees the one its workspace borrows from, not the other run's.
            `test "$(ls "$QUIRE_HOME/git")" = "$(basename "$(dirname "$(head -1 .git/objects/info/alternates)")")" && echo 'its own store only'`,
            `${REFUSED}; refused touch ${person}/notes.txt; refused touch ${person}/new; refused touch ${homeProbe}; refused touch ${dir}/from-the-step`,
            `touch ~/.npm/probe-${rand} ~/.cache/probe-${rand} && echo ${rand} > /tmp/probe-${rand} && echo 'wrote the caches and /tmp'`,
            `test "$(cat /tmp/probe-${rand})" = ${rand} && echo "the job's /tmp is kept across its steps"`,
            `quirectl annotate "sandboxed ${rand}"`,
          ],
        },
        neighbour: { fields: ["needs: [confined]"], steps: [`${REFUSED}; refused test -e /tmp/probe-${rand}`] },
      }),
    );
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "the pipeline");
    const run = await quirectlJson(d.home, ["run", join(dir, "quire.yml"), "--wait"], 0);
    assert.equal(run.state, "complete", run.failure_summary);
    assert.match(log(run, "confined", 0), /in a terminal/);
    assert.doesNotMatch(log(run, "confined", 1), /LEAK/);
    assert.doesNotMatch(log(run, "confined", 1), new RegExp(other.marker));
    assert.match(log(run, "confined", 2), /wrote the workspace/);
    assert.match(log(run, "confined", 3), /its own store only/);
    assert.ok(readdirSync(join(d.home, "git")).length >= 2, "the other run's repository has a store too");
    assert.match(log(run, "confined", 5), /wrote the caches and \/tmp/);
    assert.match(log(run, "confined", 6), /kept across its steps/);
    assert.deepEqual(
      run.annotations.map((a: any) => a.text),
      [`sandboxed ${rand}`],
      "quirectl annotate reaches the daemon, and there is no warning",
    );
    // Nothing of it reached the person's files.
    assert.equal(readFileSync(join(person, "notes.txt"), "utf8"), "the person's notes\n");
    for (const path of [
      join(person, "new"),
      homeProbe,
      join(dir, "from-the-step"),
      join(homedir(), ".npm", `probe-${rand}`),
      join(homedir(), ".cache", `probe-${rand}`),
      `/tmp/probe-${rand}`,
    ]) {
      assert.equal(existsSync(path), false, `${path} was not written`);
    }
    await eventually(() => !existsSync(join(d.home, "sandbox", String(run.id))), "its /tmp and caches to go with the run");
  });

  test("can npm install a local directory and a local tarball, and run git", async () => {
    const dir = repos.make({
      "package.json": JSON.stringify({ name: "app", version: "1.0.0", private: true }),
      "local-dep/package.json": JSON.stringify({ name: "local-dep", version: "1.0.0", main: "index.js" }),
      "local-dep/index.js": "module.exports = 'from the local directory';\n",
      "packed/package.json": JSON.stringify({ name: "packed-dep", version: "2.0.0", main: "index.js" }),
      "packed/index.js": "module.exports = 'from the tarball';\n",
      "quire.yml": pipeline({
        build: {
          steps: [
            "npm install --offline --no-audit --no-fund ./local-dep",
            "npm pack --silent ./packed && npm install --offline --no-audit --no-fund ./packed-dep-2.0.0.tgz",
            `node -e "console.log(require('local-dep'), '/', require('packed-dep'))"`,
            // The workspace is a checkout of the person's repository: git init keeps it, and npm's changes show against HEAD.
            "git init -q && git add -A && git status --porcelain",
          ],
        },
      }),
    });
    const run = await quirectlJson(d.home, ["run", join(dir, "quire.yml"), "--wait"], 0);
    assert.equal(run.state, "complete", run.failure_summary);
    assert.match(log(run, "build", 2), /from the local directory \/ from the tarball/);
    assert.match(log(run, "build", 3), /M {2}package\.json/);
  });

  test("`sandbox: false` reads what it could before, and the run says so in a warning", async () => {
    const dir = repos.make({
      "quire.yml": pipeline({
        open: { fields: ["sandbox: false"], steps: [`cat "$QUIRE_HOME/secret.key" > /dev/null && cat ${other.log}`] },
      }),
    });
    const run = await quirectlJson(d.home, ["run", join(dir, "quire.yml"), "--wait"], 0);
    assert.equal(run.state, "complete", run.failure_summary);
    assert.match(log(run, "open"), new RegExp(other.marker));
    assert.equal(run.annotations.length, 1);
    assert.equal(run.annotations[0].job, "open");
    assert.match(run.annotations[0].text, /^warning: job open runs without the sandbox \(sandbox: false\)/);
  });

  test("`network: false` cannot reach a loopback port the test listens on; the default can", async () => {
    const connections: string[] = [];
    const server: Server = createServer((socket) => {
      socket.once("data", (data) => connections.push(data.toString().trim()));
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as { port: number }).port;
    const reach = (who: string) => `echo ${who} > /dev/tcp/127.0.0.1/${port}`;
    const dir = repos.make({
      "quire.yml": pipeline({
        online: { steps: [`(${reach("online")}) && echo reached`] },
        offline: {
          fields: ["network: false"],
          steps: [`if (${reach("offline")}) 2>/dev/null; then echo reached; exit 1; fi; echo 'no way out'`],
        },
      }),
    });
    const run = await quirectlJson(d.home, ["run", join(dir, "quire.yml"), "--wait"], 0);
    assert.equal(run.state, "complete", run.failure_summary);
    assert.match(log(run, "offline"), /no way out/);
    await eventually(() => connections.length > 0, "the online step's line to arrive");
    assert.deepEqual(connections, ["online"]);
  });

  test("a repository symlink to a file outside the tree: the sandboxed job cannot write through it; an unsandboxed one does not run", async () => {
    const person = personDir({ "config.txt": "original\n" });
    const dir = repos.make({
      "quire.yml": pipeline({
        confined: { steps: [`${REFUSED}; refused sh -c 'echo changed > linked.txt'; cat linked.txt`] },
        open: { fields: ["sandbox: false"], steps: ["echo changed > linked.txt"] },
      }),
    });
    symlinkSync(join(person, "config.txt"), join(dir, "linked.txt"));
    git(dir, "add", "-A");
    git(dir, "commit", "-q", "-m", "a link out of the tree");
    const run = await quirectlJson(d.home, ["run", join(dir, "quire.yml"), "--wait"], 1);
    const [confined, open] = ["confined", "open"].map((name) => run.jobs.find((j: any) => j.name === name));
    assert.equal(confined.state, "complete");
    assert.match(log(run, "confined"), /refused: sh -c[\s\S]*original/);
    assert.equal(open.state, "failed");
    assert.match(log(run, "open"), /^quire: the checkout holds symlinks that lead out of it \(linked\.txt -> \/var\/tmp\/quire-person-/);
    assert.match(run.failure_summary, /linked\.txt/);
    assert.equal(readFileSync(join(person, "config.txt"), "utf8"), "original\n", "the real file is as it was");
    assert.ok(run.annotations.some((a: any) => a.job === "open" && /sandbox: false/.test(a.text)));
  });

  test("a server a step starts in the background serves the job's later steps, and ends with the job", async () => {
    const mark = `server-${rand}`;
    const server = `${JSON.stringify(process.execPath)} ${JSON.stringify(fixture("pong-server.js"))} /tmp/server`;
    // Its /tmp is the job's, kept across its steps; the server's host pid is found by the variable its job sets.
    const ping =
      'for i in $(seq 400); do test -s /tmp/server && break; sleep 0.05; done; read -r pid start port < /tmp/server; exec 3<>/dev/tcp/127.0.0.1/$port; echo ping >&3; read -r -t 30 reply <&3; test "$reply" = pong';
    const ways = {
      "setsid-nohup": `setsid nohup ${server} &`,
      nohup: `nohup ${server} &`,
      subshell: `( ${server} & )`,
      disown: `${server} & disown`,
    };
    const jobs = Object.fromEntries(
      Object.entries(ways).map(([name, start]) => [name, { fields: [`env: { SERVER_MARK: ${mark} }`], steps: [start, ping, ping] }]),
    );
    const dir = repos.make({ "quire.yml": pipeline(jobs) });
    const run = await quirectlJson(d.home, ["run", join(dir, "quire.yml"), "--wait"], 0, { timeoutMs: 110_000 });
    assert.equal(run.state, "complete", run.failure_summary);
    await eventually(() => environs(`SERVER_MARK=${mark}`).length === 0, "no process of the run's jobs to be left");
  });

  test("what it leaves running ends: a daemon that left its session ends with its job at the latest, cancel ends its tree", async () => {
    const gone = `quire-gone-${rand}`;
    const held = `quire-held-${rand}`;
    const daemonize = (name: string) => `setsid -f bash -c 'exec </dev/null >/dev/null 2>&1; exec -a ${name} sleep 300'; sleep 0.5`;
    const dir = repos.make({
      "done.yml": pipeline({ bg: { steps: [daemonize(gone), "echo the next step"] } }),
      "cancel.yml": pipeline({ bg: { steps: [`${daemonize(held)}; exec -a ${held}-step sleep 300`] } }),
    });
    const done = quirectlJson(d.home, ["run", join(dir, "done.yml"), "--wait"], 0);
    const leftover = await markedOnce(gone);
    assert.equal((await done).state, "complete");
    await eventually(() => !alive(leftover), "the daemon to end with its job");

    const run = await quirectlJson(d.home, ["run", join(dir, "cancel.yml")]);
    const escaped = await markedOnce(held);
    const step = await markedOnce(`${held}-step`);
    await quirectlJson(d.home, ["cancel", String(run.id)]);
    assert.equal(alive(escaped), false, "cancel ended the daemon");
    assert.equal(alive(step), false, "cancel ended the step");
  });
});

test("a ci backend killed outright: the next one ends what a sandboxed step left", {
  skip: process.platform !== "linux" && "the sandbox is Linux's (bubblewrap)",
}, async () => {
  const d = await startTestDaemon();
  cleanup.push(() => d.stop());
  const marker = `quire-stubborn-${randomBytes(6).toString("hex")}`;
  const dir = repos.make({ "quire.yml": pipeline({ stubborn: { steps: [`trap '' HUP TERM; exec -a ${marker} sleep 300`] } }) });
  const run = await quirectlJson(d.home, ["run", join(dir, "quire.yml")]);
  const step = await markedOnce(marker);
  const [ci] = await d.backendPids();
  process.kill(ci!, "SIGKILL");
  const after = await quirectlJson(d.home, ["runs", "show", String(run.id)]);
  assert.equal(after.failure_kind, "orphaned");
  await eventually(() => !alive(step), "the sandboxed step the killed backend left behind to end", 15_000);
});
