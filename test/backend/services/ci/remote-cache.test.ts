// The job cache shared on a remote cache server: the real turborepo-remote-cache server on loopback, two
// daemons with homes of their own (machines A and B) on the same repository's content. A job A ran is `cached` on B,
// with A's logs and A's files; an artifact altered, truncated or signed with another key is refused and
// the job runs; a refused token and a server that is gone are warnings, and the run goes on.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestDaemon, tempHome, type TestDaemon } from "../../../helpers/daemon.js";
import { git, tempRepos, writeFiles } from "../../../helpers/git.js";
import { quirectl, quirectlJson } from "../../../helpers/quirectl.js";
import { startRemoteCacheServer, type RemoteCacheServer } from "../../../helpers/remote-cache-server.js";

const TOKEN = "quire-remote-cache-test-token";
const KEY = "quire-remote-cache-test-signing-key";
const TEAM = "quire-tests";

const repos = tempRepos();
let server: RemoteCacheServer & { stop(): Promise<void> };
let a: TestDaemon;
let b: TestDaemon;
/** A server that takes connections and never answers: a remote cache too slow to wait for. */
const held = new Set<Socket>();
const silent = createServer((socket) => held.add(socket));
before(async () => {
  server = await startRemoteCacheServer(TOKEN, KEY);
  // quire's configuration names the server too: that is where a workflow file's runs find it.
  const homes = [tempHome(), tempHome()];
  for (const home of homes)
    writeFileSync(
      join(home, "config.yml"),
      `cache:\n  remote-url: ${server.url}\n  remote-team: ${TEAM}\n  remote-token: TURBO_TOKEN\n  remote-signature-key: TURBO_SIGNING_KEY\n`,
    );
  [a, b] = await Promise.all([startTestDaemon([], homes[0], { MACHINE: "A" }), startTestDaemon([], homes[1], { MACHINE: "B" })]);
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  for (const daemon of [a, b]) {
    await setSecret(daemon, "TURBO_TOKEN", TOKEN);
    await setSecret(daemon, "TURBO_SIGNING_KEY", KEY);
  }
});
after(async () => {
  for (const socket of held) socket.destroy();
  silent.close();
  await Promise.all([a?.stop(), b?.stop(), server?.stop()]);
});

async function setSecret(daemon: TestDaemon, name: string, value: string): Promise<void> {
  const set = await quirectl(daemon.home, ["secret", "set", name], { input: value });
  assert.equal(set.code, 0, set.stderr);
}

/** quire.yml sharing its job cache on the test's server, with `jobs` (YAML lines under `jobs:`). */
const pipeline = (jobs: string[], url = server.url) =>
  [
    "cache:",
    "  remote:",
    `    url: ${url}`,
    `    team: ${TEAM}`,
    "    token: TURBO_TOKEN",
    "    signature-key: TURBO_SIGNING_KEY",
    "    timeout: 5s",
    "jobs:",
    ...jobs.map((line) => `  ${line}`),
  ].join("\n");

const run = (daemon: TestDaemon, dir: string) => quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
const job = (r: any, name: string) => r.jobs.find((j: any) => j.name === name);
const logs = async (daemon: TestDaemon, id: number, name: string) =>
  (await quirectl(daemon.home, ["logs", String(id), "--job", name])).stdout.replaceAll("\r\n", "\n");
/** The artifacts the server holds (their hashes), without their signatures. */
const artifacts = () => {
  try {
    return readdirSync(join(server.storage, TEAM)).filter((name) => !name.endsWith(".tag"));
  } catch {
    return [];
  }
};
const annotations = (r: any) => r.annotations.map((n: any) => n.text as string);

describe("the job cache on a remote cache server", () => {
  test("a job run on machine A is cached on machine B, in a clone of its own, with A's logs and the files it left", async () => {
    const dir = repos.make({
      "quire.yml": pipeline([
        "build:",
        "  inputs: [src]",
        "  outputs: [dist]",
        "  steps:",
        "    - mkdir -p dist && cp src/app.sh dist/app && echo built on $MACHINE",
        "check:",
        "  needs: [build]",
        "  inputs: [test]",
        "  steps:",
        "    - sh test/check.sh",
      ]),
      "src/app.sh": "echo app v1\n",
      "test/check.sh": "cat dist/app && echo checked on $MACHINE",
    });
    const before = artifacts().length;
    const first = await run(a, dir);
    assert.equal(first.state, "complete");
    assert.deepEqual(annotations(first), []);
    assert.equal(artifacts().length, before + 2, "both jobs' results were uploaded before the run ended");

    // Machine B: a clone of its own elsewhere, the same tree but for the check, which therefore runs (a
    // miss) and needs what build left.
    const clone = repos.dir("clone");
    git(clone, "clone", "-q", dir, ".");
    writeFiles(clone, { "test/check.sh": "cat dist/app && echo checked again on $MACHINE" });
    const second = await run(b, clone);
    assert.equal(second.state, "complete");
    const build = job(second, "build");
    assert.equal(build.state, "cached");
    assert.ok(build.cached_from, "the cached job names the run its result is recorded as");
    const proof = await quirectlJson(b.home, ["runs", "show", String(build.cached_from)]);
    assert.equal(proof.trigger, "remote-cache");
    assert.equal(proof.state, "complete");
    const listed = await quirectlJson(b.home, ["runs"]);
    assert.equal(listed[0].id, second.id, "the run that asked heads the listing, not the record it asked for");
    assert.ok(!listed.some((r: any) => r.trigger === "remote-cache"), "a remote result's record is left out of the listing");
    assert.equal(await logs(b, second.id, "build"), "built on A\n", "its logs are machine A's");
    assert.equal(job(second, "check").state, "complete");
    assert.equal(await logs(b, second.id, "check"), "echo app v1\nchecked again on B\n", "build's files came from machine A");
    assert.deepEqual(annotations(second), [], "a miss is no warning");

    // And again on B: the result is now B's own, served without asking the server.
    writeFiles(clone, { "test/check.sh": "cat dist/app && echo checked once more on $MACHINE" });
    const third = await run(b, clone);
    assert.equal(job(third, "build").cached_from, build.cached_from);
  });

  test("a workflow file's jobs are shared where quire's configuration says", async () => {
    const workflow = [
      "on: push",
      "jobs:",
      "  build:",
      "    runs-on: ubuntu-latest",
      "    steps:",
      "      - run: echo workflow on $MACHINE",
    ];
    const dir = repos.make({ ".github/workflows/ci.yml": workflow.join("\n") });
    const file = join(dir, ".github/workflows/ci.yml");
    const first = await quirectlJson(a.home, ["run", file, "--wait"]);
    assert.equal(first.state, "complete");
    const second = await quirectlJson(b.home, ["run", file, "--wait"]);
    assert.equal(job(second, "build").state, "cached");
    assert.equal(await logs(b, second.id, "build"), "workflow on A\n");
  });

  test("a server that does not answer within the timeout is a warning: the job runs, and the run ends", async () => {
    const { port } = silent.address() as AddressInfo;
    const dir = repos.make({
      "quire.yml": pipeline(["slow:", "  steps:", "    - echo slow on $MACHINE"], `http://127.0.0.1:${port}`).replace(
        "timeout: 5s",
        "timeout: 1s",
      ),
    });
    const r = await run(b, dir);
    assert.equal(r.state, "complete");
    assert.equal(job(r, "slow").state, "complete");
    const notes = annotations(r);
    assert.equal(notes.filter((t: string) => t.includes("(QUIRE_ERR_REMOTE_CACHE_UNREACHABLE)")).length, 2, notes.join("\n"));
  });

  test("an artifact altered or truncated on the server is refused: nothing of it is restored, and the job runs", async () => {
    const dir = repos.make({
      "quire.yml": pipeline(["one:", "  steps:", "    - echo one on $MACHINE", "two:", "  steps:", "    - echo two on $MACHINE"]),
    });
    const known = new Set(artifacts());
    const first = await run(a, dir);
    assert.equal(first.state, "complete");
    const made = artifacts().filter((name) => !known.has(name));
    assert.equal(made.length, 2);
    const [altered, truncated] = made.map((name) => join(server.storage, TEAM, name)) as [string, string];
    const bytes = readFileSync(altered);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(altered, bytes);
    truncateSync(truncated, Math.floor(readFileSync(truncated).length / 2));

    const second = await run(b, dir);
    assert.equal(second.state, "complete");
    assert.equal(job(second, "one").state, "complete");
    assert.equal(job(second, "two").state, "complete");
    assert.equal(await logs(b, second.id, "one"), "one on B\n");
    const notes = annotations(second);
    assert.equal(notes.filter((t: string) => t.includes("(QUIRE_ERR_REMOTE_ARTIFACT_CORRUPT)")).length, 2, notes.join("\n"));
    // A remote result's record would be the run after it (the listing leaves such records out).
    const recorded = await quirectl(b.home, ["runs", "show", String(second.id + 1)]);
    assert.equal(recorded.code, 1, `no result was recorded: ${recorded.stdout}`);
  });

  test("an artifact whose signature is not the key's is refused, and the job runs", async () => {
    const dir = repos.make({ "quire.yml": pipeline(["signed:", "  steps:", "    - echo signed on $MACHINE"]) });
    const known = new Set(artifacts());
    assert.equal((await run(a, dir)).state, "complete");
    const [made] = artifacts().filter((name) => !known.has(name));
    writeFileSync(join(server.storage, TEAM, `${made}.tag`), Buffer.alloc(32, 7).toString("base64"));

    const second = await run(b, dir);
    assert.equal(job(second, "signed").state, "complete");
    assert.equal(await logs(b, second.id, "signed"), "signed on B\n");
    assert.ok(
      annotations(second).some((t: string) => t.includes("(QUIRE_ERR_REMOTE_ARTIFACT_SIGNATURE)")),
      annotations(second).join("\n"),
    );
  });

  test("a token the server refuses is a warning: the job runs, and nothing is uploaded", async () => {
    const dir = repos.make({ "quire.yml": pipeline(["denied:", "  steps:", "    - echo denied on $MACHINE"]) });
    await setSecret(b, "TURBO_TOKEN", "not-the-token");
    try {
      const known = artifacts().length;
      const r = await run(b, dir);
      assert.equal(r.state, "complete");
      assert.equal(job(r, "denied").state, "complete");
      const notes = annotations(r);
      assert.equal(notes.filter((t: string) => t.includes("(QUIRE_ERR_REMOTE_CACHE_DENIED)")).length, 2, notes.join("\n"));
      assert.equal(artifacts().length, known);
    } finally {
      await setSecret(b, "TURBO_TOKEN", TOKEN);
    }
  });

  test("a job that fails sends nothing", async () => {
    const dir = repos.make({ "quire.yml": pipeline(["fails:", "  steps:", "    - echo failing; exit 3"]) });
    const known = artifacts().length;
    const r = await quirectlJson(a.home, ["run", join(dir, "quire.yml"), "--wait"], 1);
    assert.equal(r.state, "failed");
    assert.equal(artifacts().length, known);
  });

  // Last: the server is gone for good after it.
  test("a server that is gone is a warning, in the run and the daemon's log: the job runs", async () => {
    const dir = repos.make({ "quire.yml": pipeline(["offline:", "  steps:", "    - echo offline on $MACHINE"]) });
    await server.kill();
    const r = await run(b, dir);
    assert.equal(r.state, "complete");
    assert.equal(job(r, "offline").state, "complete");
    assert.equal(await logs(b, r.id, "offline"), "offline on B\n");
    const notes = annotations(r);
    assert.equal(notes.filter((t: string) => t.includes("(QUIRE_ERR_REMOTE_CACHE_UNREACHABLE)")).length, 2, notes.join("\n"));
    const log = readFileSync(b.places.logFile, "utf8");
    assert.match(log, /QUIRE_ERR_REMOTE_CACHE_UNREACHABLE/);
  });
});
