// Regression: with --json, a failing command printed its error as text on stderr and nothing on stdout,
// so a script parsing stdout had nothing to parse. Every error is now also one JSON document on stdout,
// { "error": { "code", "message" } }, with the same exit code as without --json.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestDaemon, tempHome, type TestDaemon } from "../helpers/daemon.js";
import { quirectl } from "../helpers/quirectl.js";

/** Exit `exit`, stdout exactly one JSON error document with `code`, the same message on stderr. */
async function assertJsonError(home: string, args: string[], exit: number, code: string): Promise<void> {
  const r = await quirectl(home, args);
  assert.equal(r.code, exit, `quirectl ${args.join(" ")}: ${r.stderr}`);
  const document = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(document), ["error"]);
  assert.deepEqual(Object.keys(document.error), ["code", "message"]);
  assert.equal(document.error.code, code, args.join(" "));
  assert.ok(r.stderr.startsWith(`quirectl: ${document.error.message.split("\n")[0]}`), r.stderr);
  const plain = await quirectl(
    home,
    args.filter((arg) => arg !== "--json"),
  );
  assert.equal(plain.code, exit, "the exit code is the same without --json");
  assert.equal(plain.stdout, "", "without --json, nothing on stdout");
}

describe("without a daemon", () => {
  const home = tempHome();
  after(() => rmSync(home, { recursive: true, force: true }));

  test("the daemon cannot be reached: exit 3", async () => {
    await assertJsonError(home, ["status", "--json"], 3, "QUIRE_ERR_DAEMON_UNREACHABLE");
    await assertJsonError(home, ["runs", "--json"], 3, "QUIRE_ERR_DAEMON_UNREACHABLE");
  });

  test("usage errors, yargs' and quirectl's own: exit 2", async () => {
    await assertJsonError(home, ["no-such-command", "--json"], 2, "QUIRE_ERR_USAGE");
    await assertJsonError(home, ["runs", "--limit", "0", "--json"], 2, "QUIRE_ERR_USAGE");
    await assertJsonError(home, ["--json", "runs", "show", "abc"], 2, "QUIRE_ERR_USAGE");
  });

  test("a bad pipeline file: exit 2", async () => {
    const file = join(home, "bad.yml");
    writeFileSync(file, "jobs:\n  a:\n    need: [b]\n    steps: [x]\n");
    await assertJsonError(home, ["run", file, "--json"], 2, "QUIRE_ERR_PIPELINE_INVALID");
  });

  test("--json after -- belongs to the command started, not to quirectl", async () => {
    const r = await quirectl(home, ["start", "web", "--", "echo", "--json"]);
    assert.equal(r.code, 3);
    assert.equal(r.stdout, "");
  });
});

describe("with a daemon", () => {
  let daemon: TestDaemon;
  before(async () => (daemon = await startTestDaemon()));
  after(() => daemon?.stop());

  test("the daemon says no: exit 1 with its code", async () => {
    await assertJsonError(daemon.home, ["runs", "show", "999", "--json"], 1, "QUIRE_ERR_RUN_NOT_FOUND");
    await assertJsonError(daemon.home, ["kill", "nobody", "--json"], 1, "QUIRE_ERR_PTY_NO_SESSION");
  });
});
