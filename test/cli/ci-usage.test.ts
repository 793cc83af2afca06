// quirectl's CI commands against bad arguments, odd pipeline files and a reader that stops early, through
// the real binary: usage errors exit 2 with one sentence, never a stack trace; a closed stdout ends
// quirectl quietly with exit 0.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { QUIRECTL, startTestDaemon, tempHome, type TestDaemon } from "../helpers/daemon.js";
import { makeRepo } from "../helpers/git.js";
import { quirectl, quirectlJson, type CliResult } from "../helpers/quirectl.js";

const cleanup: string[] = [];
after(() => {
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
});

/** Exit 2, one line on stderr matching `said` (then the --help hint), nothing on stdout, no stack trace. */
function assertUsage(r: CliResult, said: RegExp, what: string): void {
  assert.equal(r.code, 2, `${what}: exit ${r.code}, stderr: ${r.stderr}`);
  assert.equal(r.stdout, "", what);
  assert.match(r.stderr.split("\n")[0]!, said, what);
  assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: a stack trace`);
}

describe("usage errors are refused before any call (no daemon running)", () => {
  const home = tempHome();
  cleanup.push(home);

  test("run ids that are not positive safe integers, for runs show, logs, watch and cancel", async () => {
    for (const id of ["abc", "1.5", "-1", "0", "99999999999999999999", "9007199254740993", "1e3", "0x10", ""]) {
      for (const command of [["runs", "show"], ["logs"], ["watch"], ["cancel"]]) {
        const r = await quirectl(home, [...command, id]);
        assertUsage(r, /a run id must be a positive whole number/, `${command.join(" ")} ${id}`);
        assert.ok(r.stderr.includes(`got ${JSON.stringify(id)}`), r.stderr);
      }
    }
  });

  test("--limit that is not a positive integer", async () => {
    for (const limit of ["-5", "abc", "0", "2.5"]) assertUsage(await quirectl(home, ["runs", "--limit", limit]), /--limit must be a positive whole number/, `--limit ${limit}`);
  });

  test("secret names are checked client-side; set and rm", async () => {
    for (const name of ["lower", "1ABC", "A-B", "A B", ""]) {
      assertUsage(await quirectl(home, ["secret", "set", name], { input: "value\n" }), /is not a secret name/, `secret set ${name}`);
      assertUsage(await quirectl(home, ["secret", "rm", name]), /is not a secret name/, `secret rm ${name}`);
    }
  });

  test("secret values that are empty, shorter than 3 bytes or over 64 KiB", async () => {
    for (const input of ["", "\n", "ab", "ab\n", "é"]) {
      assertUsage(await quirectl(home, ["secret", "set", "TOKEN"], { input }), /value for TOKEN is (empty|\d bytes?: a secret must be at least 3 bytes, or quire could not redact it)/, JSON.stringify(input));
    }
    assertUsage(await quirectl(home, ["secret", "set", "TOKEN"], { input: "x".repeat(64 * 1024 + 1) }), /over 65536 bytes \(64 KiB\): it would not fit in a step's environment/, "64 KiB + 1");
  });

  test('annotate "" and annotate with blanks only', async () => {
    for (const text of ["", "  "]) assertUsage(await quirectl(home, ["annotate", text], { env: { QUIRE_RUN_TOKEN: "00".repeat(32) } }), /annotate needs some text/, JSON.stringify(text));
  });

  test("a pipeline file that is a FIFO, a directory or over 1 MiB is refused without reading (no hang)", async () => {
    const fifo = join(home, "fifo.yml");
    execFileSync("mkfifo", [fifo]);
    assertUsage(await quirectl(home, ["run", fifo], { timeoutMs: 20_000 }), /fifo\.yml: not a regular file \(a FIFO\)/, "FIFO");
    assertUsage(await quirectl(home, ["run", home]), /not a regular file \(a directory\)/, "directory");
    const big = join(home, "big.yml");
    writeFileSync(big, "jobs:\n  a:\n    steps: [x]\n" + "#".repeat(1024 * 1024));
    assertUsage(await quirectl(home, ["run", big]), /big\.yml: the file is 1048602 bytes; a pipeline file is at most 1048576 bytes/, "1 MiB");
  });
});

describe("with a daemon", () => {
  let daemon: TestDaemon;
  let runId: number;
  before(async () => {
    daemon = await startTestDaemon();
    const dir = makeRepo({ "quire.yml": "jobs:\n  a:\n    steps:\n      - name: big\n        run: seq 1 300000\n  b:\n    steps:\n      - echo hi\n" });
    cleanup.push(dir);
    runId = (await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"])).id;
  });
  after(async () => {
    await daemon?.stop();
  });

  /** quirectl with stdout a pipe whose reader reads `keep` bytes (0: none at all) and then closes it. */
  function closingReader(args: string[], keep: number): Promise<CliResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [QUIRECTL, "--home", daemon.home, ...args], { env: { ...process.env, QUIRE_HOME: "", QUIRE_NO_AUTOSTART: "1" }, stdio: ["ignore", "pipe", "pipe"] });
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
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  test("a closed stdout (| head) ends every command quietly with exit 0, not an EPIPE stack trace", async () => {
    const id = String(runId);
    const commands = [["logs", id], ["logs", id, "--follow"], ["runs", "show", id], ["runs", "show", id, "--json"], ["runs"], ["runs", "--json"], ["watch", id], ["secret", "list", "--json"]];
    for (const args of commands) {
      for (const keep of [0, 10]) {
        const r = await closingReader(args, keep);
        assert.deepEqual([r.code, r.stderr], [0, ""], `${args.join(" ")}, reader keeping ${keep} bytes`);
      }
    }
    // `logs ID | head -c 100`: the log is ~2 MB, far more than a pipe holds.
    const head = await closingReader(["logs", id], 100);
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
