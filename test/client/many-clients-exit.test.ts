// Regression: a process that had opened 100 concurrent CiClients stayed alive for 12 minutes after they
// had all settled and been closed. A connect that gave up waiting for the broker's HelloReply (its
// deadline passed while the Hellos queued) left its socket open: the broker answered later and handed
// the connection to the ci backend, which served it for as long as the process lived. A child process
// opens the clients against a real daemon and must then exit on its own; what keeps it alive is named.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

const CLIENTS = 100;
/** How long the child may take to exit once its clients have settled. */
const EXIT_BOUND_MS = 20_000;

let daemon: TestDaemon;
before(async () => {
  daemon = await startTestDaemon();
});
after(async () => {
  daemon.process.kill("SIGCONT");
  await daemon.stop();
});

// Opens CLIENTS CiClients at once, lists runs on each that connects, closes it, prints a summary line,
// and from then on says on stderr what is still open (for the test to show should the process not exit).
const CHILD = `
const { CiClient } = await import(process.argv[1]);
const [home, timeoutMs] = process.argv.slice(2);
const outcomes = await Promise.allSettled(Array.from({ length: ${CLIENTS} }, async () => {
  const ci = await CiClient.connect({ home, autostart: false, timeoutMs: Number(timeoutMs) });
  try { await ci.list(1); } finally { ci.close(); }
}));
const failed = outcomes.filter((o) => o.status === "rejected").map((o) => o.reason.code ?? String(o.reason));
process.stdout.write(JSON.stringify({ connected: outcomes.length - failed.length, failed }) + "\\n");
setInterval(() => process.stderr.write("still open: " + process.getActiveResourcesInfo().join(", ") + "\\n"), 250).unref();
`;

interface Child {
  /** The summary line, once every client has settled. */
  settled: Promise<{ connected: number; failed: string[] }>;
  /** The exit code, or undefined when the child was still running after EXIT_BOUND_MS. */
  exitedWithinBound(): Promise<number | null | undefined>;
  lastReport(): string;
}

function runClients(timeoutMs: number): Child {
  const child = spawn(
    process.execPath,
    ["--input-type=module", "-e", CHILD, new URL("../../src/client/ci.js", import.meta.url).href, daemon.home, String(timeoutMs)],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let report = "";
  child.stderr.setEncoding("utf8").on("data", (t: string) => (report = t.trim().split("\n").at(-1) ?? report));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const settled = new Promise<{ connected: number; failed: string[] }>((resolve, reject) => {
    child.stdout.setEncoding("utf8").on("data", (t: string) => {
      stdout += t;
      if (stdout.includes("\n")) resolve(JSON.parse(stdout));
    });
    void exited.then(() => reject(new Error(`the child exited before its clients settled: ${report}`)));
  });
  return {
    settled,
    lastReport: () => report,
    async exitedWithinBound() {
      await settled;
      let timer: NodeJS.Timeout | undefined;
      const code = await Promise.race([
        exited,
        new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), EXIT_BOUND_MS))),
      ]);
      clearTimeout(timer);
      if (code === undefined) child.kill("SIGKILL");
      return code;
    },
  };
}

test(`${CLIENTS} concurrent CiClients, each used and closed: their process exits on its own`, async () => {
  const child = runClients(10_000);
  assert.deepEqual(await child.settled, { connected: CLIENTS, failed: [] });
  assert.equal(await child.exitedWithinBound(), 0, `the process did not exit; ${child.lastReport()}`);
});

test(`${CLIENTS} concurrent CiClients whose Hellos time out (the broker stopped meanwhile): their process exits on its own`, async () => {
  daemon.process.kill("SIGSTOP");
  let child: Child;
  try {
    // The kernel completes each connection into the stopped broker's backlog; no HelloReply comes in time.
    child = runClients(1_500);
    const { connected, failed } = await child.settled;
    assert.equal(connected, 0);
    assert.deepEqual(new Set(failed), new Set(["QUIRE_ERR_TIMEOUT"]));
  } finally {
    // Once resumed the broker answers the Hellos it queued and hands their connections to the ci backend.
    daemon.process.kill("SIGCONT");
  }
  assert.equal(await child.exitedWithinBound(), 0, `the process did not exit; ${child.lastReport()}`);
});
