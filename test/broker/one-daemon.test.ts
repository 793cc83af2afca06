// Regression: two quired started at the same instant on a stale socket both logged "quired listening" and
// both stayed up (1 time in 20): each found the socket dead, unlinked it and listened, so the loser
// served an unlinked inode nobody could reach, with backends of its own on the same store. Many quired
// are started at once, round after round, on a stale socket and under socket activation: exactly one
// serves, the others exit 1 naming it, and nothing is left running.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { after, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { PtyClient } from "../../src/client/pty.js";
import { resolvePlaces } from "../../src/core/places.js";
import { signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { QUIRED, startTestDaemon, tempHome } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { identify } from "../helpers/fixtures.js";

const STARTS = 12;
const ROUNDS = 4;
const ACTIVATED_ROUNDS = 2;
/** Each round may take this long for every loser to exit (twelve node processes on two cores). */
const ROUND_BOUND_MS = 30_000;

const homes: string[] = [];
const started: Started[] = [];
after(() => {
  for (const s of started) if (running().includes(s.child.pid!)) s.child.kill("SIGKILL");
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

interface Started {
  child: ChildProcess;
  /** "beside": started by hand next to socket activation (no fd of its own). */
  how: "plain" | "activated" | "beside";
  exited: Promise<number | null>;
  stderr(): string;
}

function running(): number[] {
  return started.filter((s) => s.child.exitCode === null && s.child.signalCode === null).map((s) => s.child.pid!);
}

function start(home: string, fd?: number, beside = false): Started {
  // Under socket activation LISTEN_PID must be quired's own pid: sh exports its $$, then execs node.
  const child =
    fd === undefined
      ? spawn(process.execPath, [QUIRED, "--home", home, "--allow-root"], {
          stdio: ["ignore", "ignore", "pipe"],
          env: { ...process.env, QUIRE_HOME: "" },
        })
      : spawn("sh", ["-c", 'export LISTEN_PID=$$; exec "$0" "$@"', process.execPath, QUIRED, "--home", home, "--allow-root"], {
          stdio: ["ignore", "ignore", "pipe", fd],
          env: { ...process.env, QUIRE_HOME: "", LISTEN_FDS: "1", LISTEN_FDNAMES: "quired.socket" },
        });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));
  const s: Started = {
    child,
    how: fd !== undefined ? "activated" : beside ? "beside" : "plain",
    exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))),
    stderr: () => stderr,
  };
  started.push(s);
  return s;
}

async function listening(path: string): Promise<Server> {
  const server = createServer(() => assert.fail("the test's own listening socket must never accept"));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return server;
}

/** Closes a listening socket and leaves its path behind (libuv unlinks it on close, so it is moved aside meanwhile). */
function closeKeepingPath(server: Server, path: string): void {
  renameSync(path, `${path}.aside`);
  server.close();
  renameSync(`${path}.aside`, path);
}

/** The exit code, or "still running" after `ms`. */
async function exitedWithin(s: Started, ms: number): Promise<number | null | "still running"> {
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    s.exited,
    new Promise<"still running">((resolve) => (timer = setTimeout(resolve, ms, "still running"))),
  ]);
  clearTimeout(timer);
  return code;
}

/**
 * Waits until all but one of `round` have exited, then checks that the one left serves the socket (its
 * pid answers STATUS), logged "quired listening" as the only one of the round, and that every other one
 * exited 1 naming it. Returns the one that serves.
 */
async function exactlyOneServes(home: string, round: Started[]): Promise<Started> {
  const places = resolvePlaces({ home });
  let bound: NodeJS.Timeout | undefined;
  let exits = 0;
  await Promise.race([
    new Promise<void>((resolve) => round.forEach((s) => void s.exited.then(() => ++exits >= round.length - 1 && resolve()))),
    new Promise<void>((resolve) => (bound = setTimeout(resolve, ROUND_BOUND_MS))),
  ]);
  clearTimeout(bound);
  const left = round.filter((s) => running().includes(s.child.pid!));
  const listeners = () =>
    readFileSync(places.logFile, "utf8")
      .split("\n")
      .filter((l) => l.includes('"quired listening"'))
      .map((l) => JSON.parse(l).pid as number)
      .filter((pid) => round.some((s) => s.child.pid === pid));
  assert.equal(
    left.length,
    1,
    `exactly one quired stays up; still running: ${left.map((s) => `pid ${s.child.pid} (${s.how})`).join(", ")}; "quired listening" logged by pids ${listeners().join(", ")}`,
  );
  const winner = left[0]!;
  const { status } = await adminCall(AdminOp.STATUS, { home, timeoutMs: 10_000 });
  assert.equal(status!.pid, winner.child.pid, "the quired left is the one serving the socket");
  assert.deepEqual(listeners(), [winner.child.pid], "only the winner logged that it listens");
  for (const loser of round.filter((s) => s !== winner)) {
    assert.equal(await loser.exited, 1, loser.stderr());
    assert.match(loser.stderr(), /^quired: a quired .*is already running on /, loser.stderr());
    // One started beside socket activation may find systemd's socket before the winner holds the lock.
    if (loser.how !== "beside") assert.match(loser.stderr(), new RegExp(`\\(pid ${winner.child.pid}\\)`), loser.stderr());
  }
  return winner;
}

test(`${STARTS} quired started at once on a stale socket: exactly one serves, ${ROUNDS} rounds in a row`, async () => {
  const home = tempHome();
  homes.push(home);
  const { socket } = resolvePlaces({ home });
  // The first round's stale socket is made here; each later one is what SIGKILLing the last winner leaves.
  closeKeepingPath(await listening(socket), socket);
  for (let round = 0; round < ROUNDS; round++) {
    const winner = await exactlyOneServes(
      home,
      Array.from({ length: STARTS }, () => start(home)),
    );
    winner.child.kill("SIGKILL");
    await winner.exited;
  }
  assert.deepEqual(running(), [], "no quired is left behind");
});

test(`${STARTS} quired handed the same socket by systemd, and two started beside them: exactly one serves, ${ACTIVATED_ROUNDS} rounds`, {
  skip: process.platform !== "linux" && "socket activation is systemd's",
}, async () => {
  for (let round = 0; round < ACTIVATED_ROUNDS; round++) {
    const home = tempHome();
    homes.push(home);
    const { socket } = resolvePlaces({ home });
    const server = await listening(socket);
    const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
    const all = Array.from({ length: STARTS + 2 }, (_, i) => (i % 7 === 3 ? start(home, undefined, true) : start(home, fd)));
    closeKeepingPath(server, socket);
    const winner = await exactlyOneServes(home, all);
    assert.equal(winner.how, "activated");
    winner.child.kill("SIGTERM");
    assert.equal(await winner.exited, 0, winner.stderr());
  }
  assert.deepEqual(running(), [], "no quired is left behind");
});

test("a quired still draining holds the lock: one started once its socket is gone refuses, naming it; after its exit the next one serves", async () => {
  // The pty backend is stopped so that the drain lasts until the test lets it end (liveness pings off).
  const first = await startTestDaemon(["--liveness-interval-ms", "0", "--drain-grace-ms", "60000"]);
  const stopped: ProcessIdentity[] = [];
  try {
    const pty = await PtyClient.connect({ home: first.home, autostart: false });
    await pty.list();
    pty.close();
    const [backendPid] = await first.backendPids();
    const backend = identify(backendPid!);
    stopped.push(backend);
    signalProcess(backend, "SIGSTOP");
    first.process.kill("SIGTERM");
    await eventually(() => !existsSync(first.places.socket), "the draining quired to close its socket");

    const second = start(first.home);
    assert.equal(await exitedWithin(second, ROUND_BOUND_MS), 1, second.stderr());
    assert.match(second.stderr(), new RegExp(`^quired: a quired \\(pid ${first.process.pid}\\) is already running on `), second.stderr());
    assert.equal(first.process.exitCode, null, "the first quired is still draining");

    signalProcess(backend, "SIGKILL");
    assert.equal(await first.exited, 0, first.stderr());
    const third = await startTestDaemon([], first.home);
    const { status } = await adminCall(AdminOp.STATUS, { home: third.home });
    assert.equal(status!.pid, third.process.pid);
    await third.stop();
  } finally {
    for (const p of stopped) signalProcess(p, "SIGKILL");
    await first.stop();
  }
});
