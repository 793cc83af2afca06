// Exit codes, signals, timeouts, input, resize, expect, env and cwd: through real processes in real PTYs.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { run, spawn } from "../../src/runtime/index.js";

const dir = mkdtempSync(join(tmpdir(), "quire-runtime-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("exit codes and signals are reported as such", async () => {
  assert.deepEqual(pick(await run("sh", ["-c", "exit 3"])), { exitCode: 3, signal: null });
  assert.deepEqual(pick(await run("sh", ["-c", "kill -TERM $$"])), { exitCode: null, signal: "SIGTERM" });
  assert.deepEqual(pick(await run("sh", ["-c", "kill -KILL $$"], { pty: false })), { exitCode: null, signal: "SIGKILL" });
  assert.deepEqual(pick(await run("true", [], { pty: false })), { exitCode: 0, signal: null });
});

test("a PTY is a terminal; pipes are not", async () => {
  assert.equal((await run("sh", ["-c", "test -t 1 && echo tty || echo notty"])).output, "tty\r\n");
  assert.equal((await run("sh", ["-c", "test -t 1 && echo tty || echo notty"], { pty: false })).output, "notty\n");
});

test("the wall-clock timeout kills the tree and says so", async () => {
  const result = await run("sh", ["-c", "echo started; sleep 30"], { timeoutMs: 300, killGraceMs: 500 });
  assert.equal(result.timedOut, "wall");
  assert.match(result.output, /started/);
  assert.notEqual(result.signal, null);
});

test("the idle timeout fires only when output stops", async () => {
  const chatty = await run("sh", ["-c", "for i in 1 2 3 4 5 6; do echo $i; sleep 0.1; done"], { idleTimeoutMs: 400 });
  assert.equal(chatty.timedOut, false);
  assert.equal(chatty.exitCode, 0);
  const silent = await run("sh", ["-c", "echo hi; sleep 30"], { idleTimeoutMs: 300, killGraceMs: 500 });
  assert.equal(silent.timedOut, "idle");
});

test("a 4 MiB paste arrives whole", async () => {
  const paste = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < paste.length; i++) paste[i] = 97 + (i % 26);
  // Raw mode: the line discipline's 4 KiB line limit and the echo would otherwise get in the way.
  const p = spawn("sh", ["-c", "stty raw -echo; echo ready; head -c 4194304 | sha256sum"]);
  await p.expect("ready", { timeoutMs: 5_000 });
  await p.write(paste);
  const result = await p.wait();
  const digest = result.output.match(/^([0-9a-f]{64}) /m)?.[1];
  assert.equal(digest, createHash("sha256").update(paste).digest("hex"));
});

test("resize reaches the terminal", async () => {
  const p = spawn("sh", ["-c", "read x; stty size"], { cols: 80, rows: 24 });
  p.resize(132, 50);
  await p.write("go\r");
  const result = await p.wait();
  assert.match(result.output, /50 132/);
});

test("expect returns the match and what came before; a timeout says what it saw", async () => {
  const p = spawn("sh", ["-c", "echo 'booting...'; sleep 0.1; echo 'ready on port 8123'; read x"]);
  const m = await p.expect(/port (\d+)/, { timeoutMs: 5_000 });
  assert.equal(m.match, "port 8123");
  assert.deepEqual(m.groups, ["8123"]);
  assert.match(m.before, /booting\.\.\.\r\nready on $/);
  await assert.rejects(p.expect("never printed", { timeoutMs: 100 }), { code: "QUIRE_ERR_EXPECT_TIMEOUT" });
  await p.write("\r");
  await assert.rejects(p.expect("still never", { timeoutMs: 5_000 }), { code: "QUIRE_ERR_EXPECT_ENDED" });
  assert.equal((await p.wait()).exitCode, 0);
});

test("env: inherit with overrides, or a clean environment plus an allow-list; cwd", async () => {
  process.env.QUIRE_TEST_PARENT = "from-parent";
  try {
    const inherited = await run("sh", ["-c", 'echo "$QUIRE_TEST_PARENT/$EXTRA/${HOME:+home}"'], { env: { EXTRA: "x" }, pty: false });
    assert.equal(inherited.output, "from-parent/x/home\n");
    const clean = await run("/bin/sh", ["-c", 'echo "$QUIRE_TEST_PARENT/${HOME:-nohome}/$PATH"'], { inheritEnv: ["PATH"], pty: false });
    assert.equal(clean.output, `/nohome/${process.env.PATH}\n`);
    const removed = await run("sh", ["-c", 'echo "${QUIRE_TEST_PARENT:-gone}"'], { env: { QUIRE_TEST_PARENT: undefined }, pty: false });
    assert.equal(removed.output, "gone\n");
  } finally {
    delete process.env.QUIRE_TEST_PARENT;
  }
  assert.equal((await run("pwd", [], { cwd: dir, pty: false })).output, realpathSync(dir) + "\n");
});

test("bad input is a typed error naming what is wrong", () => {
  assert.throws(() => spawn("definitely-not-a-command-xyz"), { code: "QUIRE_ERR_COMMAND_NOT_FOUND" });
  assert.throws(() => spawn("true", [], { cwd: join(dir, "missing") }), { code: "QUIRE_ERR_INVALID_OPTION", message: /cwd/ });
  assert.throws(() => spawn("true", [], { cols: 0 }), { code: "QUIRE_ERR_INVALID_OPTION", message: /cols/ });
  assert.throws(() => spawn("true", [], { timeoutMs: -1 }), { code: "QUIRE_ERR_INVALID_OPTION", message: /timeoutMs/ });
});

test("the log file receives every byte", async () => {
  const log = join(dir, "out.log");
  const result = await run("sh", ["-c", "seq 1 20000"], { logFile: log, pty: false, maxOutputBytes: 1024 });
  const expected = Array.from({ length: 20000 }, (_, i) => i + 1).join("\n") + "\n";
  assert.equal(readFileSync(log, "utf8"), expected);
  assert.ok(result.droppedBytes > 0, "the in-memory copy was bounded");
});

function pick(r: { exitCode: number | null; signal: string | null }) {
  return { exitCode: r.exitCode, signal: r.signal };
}
