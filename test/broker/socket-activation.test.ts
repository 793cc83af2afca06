// systemd socket activation, without systemd: the test makes the listening socket itself and starts
// quired the way systemd does (the socket as fd 3, LISTEN_FDS=1, LISTEN_PID = quired's own pid). The pid
// is not known before spawning, so a tiny sh wrapper sets LISTEN_PID=$$ and execs node, keeping its pid.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, closeSync, fstatSync, openSync, readFileSync, readlinkSync, readdirSync, renameSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { takeActivation } from "../../src/broker/socket-activation.js";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { resolvePlaces } from "../../src/core/places.js";
import { probeSocket } from "../../src/core/socket-probe.js";
import { describe as describeProcess, signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { Lane } from "../../src/wire/lanes.js";
import { QUIRED, tempHome } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";

const linuxOnly = process.platform !== "linux" && "socket activation is systemd's";
const homes: string[] = [];
const backends: ProcessIdentity[] = [];
after(() => {
  for (const id of backends) signalProcess(id, "SIGKILL");
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function newHome(): string {
  const home = tempHome();
  homes.push(home);
  return home;
}

/** A listening Unix socket at `path`, made by this process as systemd would. */
async function listeningSocket(path: string): Promise<Server> {
  const server = createServer(() => assert.fail("the test's own copy of the socket must never accept"));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

interface Activated {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr(): string;
}

/** Starts quired with `fd` as its fd 3, LISTEN_FDS and LISTEN_PID set as systemd sets them. */
function startActivated(home: string, fd: number | "ignore", env: Record<string, string> = {}): Activated {
  const child = spawn("sh", ["-c", 'export LISTEN_PID=$$; exec "$0" "$@"', process.execPath, QUIRED, "--home", home, "--allow-root"], {
    stdio: ["ignore", "ignore", "pipe", fd],
    env: { ...process.env, QUIRE_HOME: "", LISTEN_FDS: "1", LISTEN_FDNAMES: "quired.socket", ...env },
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

/**
 * Closes the test's copy of a listening socket without removing its path: libuv unlinks a listening
 * socket's path when it closes it, so the path is moved aside for that moment (microseconds; quired is
 * still loading node). The socket keeps its bound name, which is what quired checks.
 */
function closeOurCopy(server: Server, path: string): void {
  renameSync(path, `${path}.aside`);
  server.close();
  renameSync(`${path}.aside`, path);
}

async function stop(activated: Activated): Promise<number | null> {
  activated.child.kill("SIGTERM");
  const timer = setTimeout(() => activated.child.kill("SIGKILL"), 15_000);
  const code = await activated.exited;
  clearTimeout(timer);
  return code;
}

test("takeActivation: LISTEN_* are removed always; one socket for this pid is fd 3; more are refused", () => {
  const env: NodeJS.ProcessEnv = { LISTEN_FDS: "1", LISTEN_PID: "42", LISTEN_FDNAMES: "quired.socket", OTHER: "x" };
  assert.deepEqual(takeActivation(env, 42), { fd: 3 });
  assert.deepEqual(env, { OTHER: "x" });
  assert.deepEqual(takeActivation({}, 42), {});
  const forAnother = takeActivation({ LISTEN_FDS: "1", LISTEN_PID: "41" }, 42);
  assert.equal(forAnother.fd, undefined);
  assert.match(forAnother.warning!, /LISTEN_PID=41 is not this process \(pid 42\)/);
  assert.throws(
    () => takeActivation({ LISTEN_FDS: "2", LISTEN_PID: "42" }, 42),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, "QUIRE_ERR_SOCKET_ACTIVATION");
      assert.match(e.message, /single ListenStream=/);
      return true;
    },
  );
});

test("a socket handed in through LISTEN_FDS serves a Hello, a handoff and a reconnect; backends inherit neither it nor LISTEN_*", {
  skip: linuxOnly,
}, async () => {
  const home = newHome();
  const places = resolvePlaces({ home });
  const server = await listeningSocket(places.socket);
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
  const inode = fstatSync(fd).ino;
  const quired = startActivated(home, fd);
  closeOurCopy(server, places.socket);
  try {
    // No waiting for quired: the socket is there from the start, which is what socket activation is for.
    const echo = await connect("echo", { home, autostart: false });
    assert.equal(echo.path, "handoff");
    assert.equal((await echo.request(Lane.ECHO, Buffer.from("through fd 3"))).toString(), "through fd 3");
    echo.close();

    const again = await connect("echo", { home, autostart: false, handoff: false });
    assert.equal(again.path, "reconnect");
    assert.equal((await again.request(Lane.ECHO, Buffer.from("again"))).toString(), "again");
    again.close();

    const { status } = await adminCall(AdminOp.STATUS, { home });
    assert.equal(status!.pid, quired.child.pid, "LISTEN_PID was quired's own pid: the wrapper exec'd it");
    for (const backend of status!.backends.filter((b) => b.pid > 0)) {
      const info = describeProcess(backend.pid);
      if (info) backends.push({ pid: backend.pid, startTime: info.startTime });
      const environ = readFileSync(`/proc/${backend.pid}/environ`, "latin1").split("\0");
      assert.deepEqual(
        environ.filter((e) => e.startsWith("LISTEN_")),
        [],
        "quired unset LISTEN_* before forking",
      );
      const fds = readdirSync(`/proc/${backend.pid}/fd`).map((n) => {
        try {
          return readlinkSync(`/proc/${backend.pid}/fd/${n}`);
        } catch {
          return "";
        }
      });
      assert.ok(!fds.includes(`socket:[${inode}]`), "the backend does not hold the broker's listening socket");
    }
    const log = readFileSync(places.logFile, "utf8");
    assert.match(log, /"socketActivated":true/);
  } finally {
    assert.equal(await stop(quired), 0, quired.stderr());
  }
});

test("an inherited socket bound to another path is refused with a sentence naming both", { skip: linuxOnly }, async () => {
  const home = newHome();
  const other = join(home, "other.sock");
  const server = await listeningSocket(other);
  const quired = startActivated(home, (server as unknown as { _handle: { fd: number } })._handle.fd);
  closeOurCopy(server, other);
  assert.equal(await quired.exited, 1);
  assert.match(
    quired.stderr(),
    new RegExp(
      `fd 3 is bound to ${other}, but quired's socket is ${join(home, "quired.sock")}: make quired.socket's ListenStream= that path`,
    ),
  );
});

test("fd 3 that is a TCP socket, or a file, is refused", { skip: linuxOnly }, async () => {
  const home = newHome();
  const tcp = createServer();
  await new Promise<void>((resolve) => tcp.listen(0, "127.0.0.1", resolve));
  const quired = startActivated(home, (tcp as unknown as { _handle: { fd: number } })._handle.fd);
  tcp.close();
  assert.equal(await quired.exited, 1);
  assert.match(quired.stderr(), /fd 3 is not a Unix socket/);

  const file = openSync(join(home, "plain"), "w");
  const withFile = startActivated(home, file);
  closeSync(file);
  assert.equal(await withFile.exited, 1);
  assert.match(withFile.stderr(), /fd 3 is a regular file, not a socket/);
});

test("the directory rules hold for an inherited socket: a home open to others is refused", { skip: linuxOnly }, async () => {
  const home = newHome();
  const places = resolvePlaces({ home });
  const server = await listeningSocket(places.socket);
  chmodSync(home, 0o755);
  const quired = startActivated(home, (server as unknown as { _handle: { fd: number } })._handle.fd);
  closeOurCopy(server, places.socket);
  assert.equal(await quired.exited, 1);
  assert.match(quired.stderr(), /has mode 0755, open to other users; run: chmod 700/);
});

test("LISTEN_FDS meant for another process is ignored with a warning, and quired listens itself", { skip: linuxOnly }, async () => {
  const home = newHome();
  const child = spawn(process.execPath, [QUIRED, "--home", home, "--allow-root"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, QUIRE_HOME: "", LISTEN_FDS: "1", LISTEN_PID: "1" },
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));
  const quired: Activated = { child, exited: new Promise((resolve) => child.once("exit", resolve)), stderr: () => stderr };
  try {
    await eventually(async () => {
      assert.equal(child.exitCode, null, stderr);
      return probeSocket(resolvePlaces({ home }).socket, 200);
    }, "quired to listen itself");
    const echo = await connect("echo", { home, autostart: false });
    assert.equal((await echo.request(Lane.ECHO, Buffer.from("x"))).toString(), "x");
    echo.close();
    const { status } = await adminCall(AdminOp.STATUS, { home });
    for (const b of status!.backends.filter((b) => b.pid > 0)) {
      const info = describeProcess(b.pid);
      if (info) backends.push({ pid: b.pid, startTime: info.startTime });
    }
    assert.match(stderr, /ignoring LISTEN_FDS=1: LISTEN_PID=1 is not this process/);
  } finally {
    assert.equal(await stop(quired), 0, quired.stderr());
  }
});
