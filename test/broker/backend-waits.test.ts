// What the broker waits for from a backend (an ACK, metrics, an idle answer) fails with an error of
// quire's own, with a code: QUIRE_ERR_BACKEND_TIMEOUT when the backend does not answer in time,
// QUIRE_ERR_BACKEND_NOT_RUNNING when it dies while the broker waits. A real echo backend, stopped and killed.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BackendNotRunningError, BackendTimeoutError } from "../../src/broker/errors.js";
import { BackendProcess } from "../../src/broker/supervisor.js";

const home = mkdtempSync(join(tmpdir(), "quire-waits-"));
const backend = new BackendProcess({
  service: "echo",
  socketPath: join(home, "backend-echo.sock"),
  home,
  writeLog: () => {},
  logger: { log: () => {} },
  // No respawn within the test: the killed backend stays down until the drain below.
  respawn: { budget: 3, windowMs: 30_000, delayMs: 600_000 },
  startTimeoutMs: 10_000,
  liveness: { intervalMs: 0, timeoutMs: 10_000 },
});
let pid = 0;

before(async () => {
  await backend.ensure();
  pid = backend.pid;
});

after(async () => {
  try {
    process.kill(pid, "SIGKILL");
  } catch {}
  await backend.drain(0);
  rmSync(home, { recursive: true, force: true });
});

test("a backend that does not answer in time: QUIRE_ERR_BACKEND_TIMEOUT", async () => {
  assert.ok(Array.isArray(await backend.collectMetrics(10_000)), "a running backend answers");
  process.kill(pid, "SIGSTOP");
  const error = await backend.collectMetrics(50).then(
    () => assert.fail("a stopped backend answered"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof BackendTimeoutError, String(error));
  assert.equal(error.code, "QUIRE_ERR_BACKEND_TIMEOUT");
  assert.match(error.message, /echo backend did not send its metrics within 50 ms/);
});

test("a backend that dies while the broker waits: QUIRE_ERR_BACKEND_NOT_RUNNING", async () => {
  const waiting = backend.collectMetrics(600_000).then(
    () => assert.fail("a killed backend answered"),
    (e: unknown) => e,
  );
  process.kill(pid, "SIGKILL");
  const error = await waiting;
  assert.ok(error instanceof BackendNotRunningError, String(error));
  assert.equal(error.code, "QUIRE_ERR_BACKEND_NOT_RUNNING");
  assert.match(error.message, /echo backend is not running \(killed by SIGKILL\)/);
});
