// npm run demo: start quired in a temporary home (or $QUIRE_HOME), reach the echo service through the
// handoff and through the reconnect path, run a command in a pty session, say what happened and how
// long it took, and stop the daemon.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeSocket } from "../src/daemon/socket-probe.js";
import { adminCall, AdminOp, connect, Lane, PtyClient, resolvePlaces, startDaemon } from "../src/index.js";

const ownHome = !process.env.QUIRE_HOME;
const home = process.env.QUIRE_HOME || mkdtempSync(join(tmpdir(), "quire-demo-"));
const places = resolvePlaces({ home });
const ms = (start: number) => `${(performance.now() - start).toFixed(1)} ms`;

console.log(`quire demo in ${home}`);
const daemonArgs: string[] = [];
if (process.getuid?.() === 0) {
  console.log("  (running as root: starting quired with --allow-root, as this is a throwaway home)");
  daemonArgs.push("--allow-root");
}

let t = performance.now();
const { pid } = await startDaemon({ places, args: daemonArgs });
console.log(`  started quired, pid ${pid}: ${ms(t)}`);

try {
  for (const handoff of [true, false]) {
    // The first connect also launches the echo backend: the broker starts backends on first need.
    t = performance.now();
    const connection = await connect("echo", { home, handoff, autostart: false });
    const connected = ms(t);
    t = performance.now();
    const message = `hello through the ${connection.path}`;
    const reply = await connection.request(Lane.ECHO, Buffer.from(message));
    const note = handoff ? " (includes launching the echo backend)" : "";
    console.log(`  ${connection.path.padEnd(9)} connect ${connected}${note}, echo round trip ${ms(t)}: "${reply.toString()}"`);
    if (reply.toString() !== message) throw new Error(`echo answered ${JSON.stringify(reply.toString())}`);
    connection.close();
  }
  // A long-lived command in a terminal owned by the daemon: start it, read its output, end its tree.
  t = performance.now();
  const ptys = await PtyClient.connect({ home, autostart: false });
  const session = await ptys.start({ name: "demo", file: "sh", args: ["-c", 'echo "hello from $(tty)"; test -t 1 && echo "stdout is a terminal"; exec sleep 300'] });
  let seen = "";
  const tail = await ptys.tail("demo", true, (data) => (seen += data.toString()));
  seen = tail.backlog.toString() + seen;
  while (!seen.includes("stdout is a terminal")) await new Promise((r) => setTimeout(r, 10));
  tail.end();
  console.log(`  pty       session "${session.name}" (pid ${session.pid}) said: ${JSON.stringify(seen.trim().split(/\r?\n/))} in ${ms(t)}`);
  t = performance.now();
  const ended = await ptys.kill("demo");
  console.log(`  pty       killed its tree (${ended.signal || `exit ${ended.exitCode}`}) in ${ms(t)}`);
  ptys.close();

  const { status } = await adminCall(AdminOp.STATUS, { home });
  for (const b of status!.backends) console.log(`  backend ${b.service}: ${b.state}, pid ${b.pid}, restarts ${b.restarts}`);
} finally {
  t = performance.now();
  await adminCall(AdminOp.SHUTDOWN, { home });
  while (await probeSocket(places.socket, 500)) await new Promise((r) => setTimeout(r, 20));
  console.log(`  stopped quired (drained): ${ms(t)}`);
  if (ownHome) rmSync(home, { recursive: true, force: true });
}
