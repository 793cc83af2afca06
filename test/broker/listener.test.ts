// The listener's safety rules: one daemon per home, a private directory, stale sockets replaced.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { listenExclusive } from "../../src/broker/listener.js";
import { probeSocket } from "../../src/core/socket-probe.js";
import { connect } from "../../src/client/connect.js";
import { Lane } from "../../src/wire/lanes.js";
import { QUIRED, startTestDaemon, tempHome } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";

function runQuired(args: string[]) {
  return spawnSync(process.execPath, [QUIRED, ...args], { encoding: "utf8", timeout: 15_000 });
}

test("a second daemon on the same home refuses to start and leaves the first alone", async () => {
  const daemon = await startTestDaemon();
  try {
    const second = runQuired(["--home", daemon.home, "--allow-root"]);
    assert.equal(second.status, 1);
    assert.match(second.stderr, /already running/);
    const client = await connect("echo", { home: daemon.home, autostart: false });
    assert.equal((await client.request(Lane.ECHO, Buffer.from("first"))).toString(), "first");
    client.close();
  } finally {
    await daemon.stop();
  }
});

test("a socket directory open to others is refused, with the fix", () => {
  const home = mkdtempSync(join(tmpdir(), "quire-"));
  try {
    chmodSync(home, 0o755);
    const result = runQuired(["--home", home, "--allow-root"]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /mode 0755/);
    assert.match(result.stderr, /chmod 700/);
    assert.equal(existsSync(join(home, "quired.sock")), false);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test("a stale socket left by a killed daemon is detected and replaced", async () => {
  const first = await startTestDaemon();
  first.process.kill("SIGKILL");
  await first.exited;
  assert.ok(existsSync(first.places.socket), "the dead daemon left its socket behind");
  const second = await startTestDaemon([], first.home);
  try {
    const client = await connect("echo", { home: second.home, autostart: false });
    assert.equal((await client.request(Lane.ECHO, Buffer.from("fresh"))).toString(), "fresh");
    client.close();
  } finally {
    await first.stop().catch(() => {});
    await second.stop();
  }
});

test("quired refuses root unless --allow-root, and needs no flag for anyone else", async () => {
  const home = tempHome();
  try {
    if (process.getuid!() === 0) {
      const result = runQuired(["--home", home]);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /refuses to run as root/);
      return;
    }
    const child = spawn(process.execPath, [QUIRED, "--home", home], { stdio: "ignore" });
    try {
      await eventually(async () => {
        assert.equal(child.exitCode, null, "quired exited instead of starting without --allow-root");
        return probeSocket(join(home, "quired.sock"), 200);
      }, "quired to start without --allow-root");
    } finally {
      child.kill("SIGKILL");
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

// Regression: connecting to a regular file also says ECONNREFUSED, which the probe took for a stale
// socket, so quired deleted the file; a directory there gave a raw EISDIR.
for (const { what, make, check } of [
  {
    what: "a regular file",
    make: (path: string) => writeFileSync(path, "precious\n"),
    check: (path: string) => assert.equal(readFileSync(path, "utf8"), "precious\n", "the file is untouched"),
  },
  {
    what: "a directory",
    make: (path: string) => mkdirSync(path),
    check: (path: string) => assert.ok(statSync(path).isDirectory(), "the directory is untouched"),
  },
]) {
  test(`${what} at the socket path is refused, named, and left in place`, async () => {
    const home = tempHome();
    try {
      const path = join(home, "quired.sock");
      make(path);
      await assert.rejects(
        listenExclusive(path, () => {}),
        { code: "QUIRE_ERR_SOCKET_PATH_OCCUPIED" },
      );
      check(path);
      const result = runQuired(["--home", home, "--allow-root"]);
      assert.equal(result.status, 1);
      assert.ok(result.stderr.startsWith(`quired: ${path} is `), result.stderr);
      assert.doesNotMatch(result.stderr, /EISDIR|\n\s+at /);
      check(path);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
}
