// quirectl's CI commands against a real daemon: a reader that stops early (a closed stdout) ends quirectl
// quietly with exit 0; logs --job/--step naming nothing exit 1 saying what the run has; secret values at
// the edges of what is allowed are accepted.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl, quirectlJson, type CliResult } from "../helpers/quirectl.js";

const repos = tempRepos();

describe("with a daemon", () => {
  let daemon: TestDaemon;
  let runId: number;
  before(async () => {
    daemon = await startTestDaemon();
    const dir = repos.make({
      "quire.yml": "jobs:\n  a:\n    steps:\n      - name: big\n        run: seq 1 300000\n  b:\n    steps:\n      - echo hi\n",
    });
    runId = (await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"])).id;
  });
  after(async () => {
    await daemon?.stop();
  });

  /** quirectl with stdout a pipe whose reader reads `keep` bytes (0: none at all) and then closes it. */
  function closingReader(args: string[], keep: number): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [QUIRECTL, "--home", daemon.home, ...args], {
        env: { ...process.env, QUIRE_HOME: "", QUIRE_NO_AUTOSTART: "1" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      if (keep === 0) child.stdout.destroy();
      else
        child.stdout.on("data", (chunk: Buffer) => {
          stdout += chunk.toString("latin1");
          if (stdout.length >= keep) child.stdout.destroy();
        });
      child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`quirectl ${args.join(" ")} did not end after its reader left; stderr: ${stderr}`));
      }, 30_000);
      child.once("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  test("a closed stdout (| head) ends every command quietly with exit 0, not an EPIPE stack trace", async () => {
    const id = String(runId);
    // The reader gone before the first write, or after a few bytes (`| head -3`).
    const cases: [string[], number][] = [
      [["logs", id, "--follow"], 0],
      [["runs", "show", id], 0],
      [["runs", "show", id], 10],
      [["runs", "--json"], 0],
      [["runs", "--json"], 10],
      [["runs"], 0],
      [["watch", id], 0],
      [["secret", "list", "--json"], 0],
    ];
    for (const [args, keep] of cases) {
      const r = await closingReader(args, keep);
      assert.deepEqual([r.code, r.stderr], [0, ""], `${args.join(" ")}, reader keeping ${keep} bytes`);
    }
    // `logs ID --raw | head -c 100`: the log is ~2 MB, far more than a pipe holds.
    const head = await closingReader(["logs", id, "--raw"], 100);
    assert.deepEqual([head.code, head.stderr], [0, ""]);
    assert.ok(head.stdout.startsWith("1\r\n2\r\n3\r\n"), JSON.stringify(head.stdout.slice(0, 20)));
  });

  test("logs --job / --step naming nothing in the run exit 1 and list what the run has", async () => {
    const expectations: [string[], string][] = [
      [["--job", "nope"], `run ${runId} has no job nope; its jobs: a, b`],
      [["--step", "nope"], `run ${runId} has no step nope; its steps: big, echo hi`],
      [["--job", "b", "--step", "big"], `run ${runId} has no step big in job b; its steps: echo hi`],
      [["--job", "nope", "--step", "big"], `run ${runId} has no job nope; its jobs: a, b`],
    ];
    for (const [flags, said] of expectations) {
      const r = await quirectl(daemon.home, ["logs", String(runId), ...flags]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [1, "", `quirectl: ${said}\n`], flags.join(" "));
    }
    const good = await quirectl(daemon.home, ["logs", String(runId), "--job", "b", "--step", "echo hi"]);
    assert.deepEqual([good.code, good.stdout.trim()], [0, "hi"]);
  });

  test("secret values of exactly 3 bytes and exactly 64 KiB are accepted", async () => {
    for (const value of ["abc", "v".repeat(64 * 1024)]) {
      const r = await quirectl(daemon.home, ["secret", "set", "EDGE"], { input: `${value}\n` });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal((await quirectl(daemon.home, ["secret", "rm", "EDGE"])).code, 0);
  });
});
