// npm run demo: start quired in a temporary home (or $QUIRE_HOME) and do quire's main job with it: set a
// secret, run the example pipeline (jobs with needs, a step in a terminal, an annotation, a secret that
// never reaches the log), run one that fails on purpose so its summary shows, list the runs; then reach
// the echo and pty services once, and stop the daemon.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { probeSocket } from "../src/core/socket-probe.js";
import { adminCall, AdminOp, connect, Lane, PtyClient, resolvePlaces, startDaemon } from "../src/index.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const ownHome = !process.env.QUIRE_HOME;
const home = process.env.QUIRE_HOME || mkdtempSync(join(tmpdir(), "quire-demo-"));
const places = resolvePlaces({ home });
const env = { ...process.env, QUIRE_HOME: home, QUIRE_NO_AUTOSTART: "1" };
const secret = `demo-${Math.random().toString(36).slice(2)}`;
const ms = (start: number) => `${(performance.now() - start).toFixed(1)} ms`;

/** Runs quirectl as a person would, its output shown as it comes; returns its exit code. */
function quirectl(args: string[], input?: string): number {
  console.log(`\n$ quirectl ${args.join(" ")}`);
  const result = spawnSync(process.execPath, [join(root, "bin", "quirectl.js"), ...args], {
    env,
    input,
    stdio: [input === undefined ? "ignore" : "pipe", "inherit", "inherit"],
  });
  return result.status ?? 1;
}

function expectExit(code: number, wanted: number, what: string): void {
  if (code !== wanted) throw new Error(`${what}: quirectl exited ${code}, expected ${wanted}`);
}

/** Every file under `dir`, for the check that the secret was written nowhere. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    return stat?.isDirectory() ? files(path) : stat?.isFile() ? [path] : [];
  });
}

console.log(`quire demo in ${home}`);
const daemonArgs = process.getuid?.() === 0 ? ["--allow-root"] : [];
if (daemonArgs.length) console.log("  (running as root: starting quired with --allow-root, as this is a throwaway home)");
let t = performance.now();
const { pid } = await startDaemon({ places, args: daemonArgs });
console.log(`  started quired, pid ${pid}: ${ms(t)}`);

try {
  expectExit(quirectl(["secret", "set", "DEMO_TOKEN"], secret), 0, "secret set");
  expectExit(quirectl(["run", join(root, "examples", "demo", "quire.yml"), "--wait"]), 0, "the demo pipeline");
  expectExit(quirectl(["run", join(root, "examples", "demo", "failing.yml"), "--wait"]), 1, "the failing pipeline");
  expectExit(quirectl(["runs"]), 0, "runs");
  const leaks = files(home).filter((file) => readFileSync(file).includes(secret));
  if (leaks.length) throw new Error(`the secret's value was written to ${leaks.join(", ")}`);
  console.log("\n  the secret's value appears in no file under the home (logs show *** instead)");

  // The machinery underneath: a client handed to the echo backend, and a long-lived command in a pty session.
  t = performance.now();
  const echo = await connect("echo", { home, autostart: false });
  const reply = await echo.request(Lane.ECHO, Buffer.from("hi"));
  echo.close();
  console.log(`  echo over the ${echo.path}: "${reply}" in ${ms(t)} (includes launching the echo backend)`);
  t = performance.now();
  const ptys = await PtyClient.connect({ home, autostart: false });
  await ptys.start({ name: "demo", file: "sh", args: ["-c", 'test -t 1 && echo "a terminal: $(tty)"; exec sleep 300'] });
  let seen = "";
  const tail = await ptys.tail("demo", true, (data) => (seen += data.toString()));
  seen = tail.backlog.toString() + seen;
  while (!seen.includes("a terminal")) await new Promise((r) => setTimeout(r, 10));
  tail.end();
  const ended = await ptys.kill("demo");
  ptys.close();
  console.log(
    `  pty session said ${JSON.stringify(seen.trim())}, then its tree was ended (${ended.signal || `exit ${ended.exitCode}`}): ${ms(t)}`,
  );
} finally {
  t = performance.now();
  await adminCall(AdminOp.SHUTDOWN, { home });
  while (await probeSocket(places.socket, 500)) await new Promise((r) => setTimeout(r, 20));
  console.log(`  stopped quired (drained): ${ms(t)}`);
  if (ownHome) rmSync(home, { recursive: true, force: true });
}
