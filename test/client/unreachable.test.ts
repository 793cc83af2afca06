// Every way a connection to the daemon can fail becomes DaemonUnreachableError (QUIRE_ERR_DAEMON_UNREACHABLE)
// with the original error as its cause; only "nobody listens" lets autostart start a daemon.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { DaemonUnreachableError, TimeoutError } from "../../src/client/errors.js";
import { dial } from "../../src/client/transport.js";
import { tempHome } from "../helpers/daemon.js";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function systemError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`connect ${code} /x/quired.sock`), { code, syscall: "connect" });
}

for (const [errno, nobodyListening] of [
  ["ENOENT", true],
  ["ECONNREFUSED", true],
  ["ECONNRESET", true],
  ["EACCES", false],
  ["EPERM", false],
  ["ENOTDIR", false],
  ["ENOTSOCK", false],
  ["ELOOP", false],
  ["ENAMETOOLONG", false],
  ["EAGAIN", false],
  ["ETIMEDOUT", false],
  ["EMFILE", false],
] as const) {
  test(`${errno} on connect is DaemonUnreachableError with the cause and a sentence`, () => {
    const cause = systemError(errno);
    const error = new DaemonUnreachableError("/x/quired.sock", cause);
    assert.equal(error.code, "QUIRE_ERR_DAEMON_UNREACHABLE");
    assert.equal(error.errno, errno);
    assert.equal(error.cause, cause);
    assert.equal(error.nobodyListening, nobodyListening);
    assert.ok(error.message.includes("/x/quired.sock"));
    assert.doesNotMatch(error.message, /undefined/);
  });
}

test("a connect that times out is DaemonUnreachableError, and not a reason to autostart", () => {
  const cause = new TimeoutError("connecting to /x/quired.sock", 500);
  const error = new DaemonUnreachableError("/x/quired.sock", cause);
  assert.equal(error.errno, undefined);
  assert.equal(error.cause, cause);
  assert.equal(error.nobodyListening, false);
});

test("dial, adminCall and connect reject with DaemonUnreachableError carrying the system's errno", async () => {
  const dir = tempHome();
  dirs.push(dir);
  writeFileSync(join(dir, "file"), "");
  const missing = join(dir, "quired.sock");
  await assert.rejects(
    dial(missing, 5_000),
    (e: DaemonUnreachableError) => e.code === "QUIRE_ERR_DAEMON_UNREACHABLE" && e.errno === "ENOENT" && e.nobodyListening,
  );
  const underFile = join(dir, "file", "home");
  await assert.rejects(
    dial(join(underFile, "quired.sock"), 5_000),
    (e: DaemonUnreachableError) => e.errno === "ENOTDIR" && !e.nobodyListening,
  );
  await assert.rejects(adminCall(AdminOp.STATUS, { home: underFile }), (e: DaemonUnreachableError) => e.errno === "ENOTDIR");
  // Autostart on: a socket that cannot be used is still refused at once, no daemon started.
  await assert.rejects(
    connect("echo", { home: underFile, autostart: true, timeoutMs: 5_000 }),
    (e: DaemonUnreachableError) => e.errno === "ENOTDIR",
  );
});
