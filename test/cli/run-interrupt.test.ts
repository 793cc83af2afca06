// Regression: Ctrl-C in `quirectl run --wait` left silently, the run still active in the daemon and
// nothing saying so. Now it says the run goes on and how to follow or cancel it, then leaves as an
// interrupted program does; a second Ctrl-C within a moment cancels the run. Real SIGINTs: sent to the
// process when piped, typed as Ctrl-C in a real terminal for the live view.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { spawn as spawnInTerminal, type Subprocess } from "../../src/runtime/index.js";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { Gate } from "../helpers/gate.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
const children: ChildProcess[] = [];
const terminals: Subprocess[] = [];
before(async () => {
  daemon = await startTestDaemon();
  // A step that holds at a gate no one opens: the run stays active until cancelled.
  const never = new Gate(repos.dir("never"));
  repo = repos.make({ "quire.yml": `jobs:\n  sleeper:\n    steps:\n      - name: hold\n        run: "${never.wait}"\n` });
});
after(async () => {
  for (const child of children) child.kill("SIGKILL");
  for (const terminal of terminals) await terminal.kill();
  await daemon?.stop();
});

async function state(id: number): Promise<string> {
  return (await quirectlJson(daemon.home, ["runs", "show", String(id)])).state;
}

test("piped, one Ctrl-C: says the run goes on and how to watch or cancel it, and leaves it active", async () => {
  const child = spawn(process.execPath, [QUIRECTL, "--home", daemon.home, "run", join(repo, "quire.yml"), "--wait"], {
    env: { ...process.env, QUIRE_HOME: "", QUIRE_NO_AUTOSTART: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (t: string) => (stdout += t));
  child.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once("exit", (code, signal) => resolve([code, signal])),
  );
  await eventually(() => stdout.includes("sleeper / hold active"), "the step to start", 30_000);
  const id = Number(/run (\d+) active/.exec(stdout)![1]);
  child.kill("SIGINT");
  assert.deepEqual(await exited, [null, "SIGINT"], "it ends as an interrupted program does");
  assert.equal(
    stderr,
    `\nrun ${id} goes on in the daemon: follow it with quirectl watch ${id}, cancel it with quirectl cancel ${id} (or press Ctrl-C again now)\n`,
  );
  assert.equal(await state(id), "active");
  assert.equal((await quirectl(daemon.home, ["cancel", String(id)])).code, 0);
});

test("in a terminal, Ctrl-C twice: the run is cancelled and its end shown, exit 1", async () => {
  const terminal = spawnInTerminal(process.execPath, [QUIRECTL, "--home", daemon.home, "run", join(repo, "quire.yml"), "--wait"], {
    env: { QUIRE_NO_AUTOSTART: "1", QUIRE_HOME: undefined },
    cols: 100,
    rows: 30,
  });
  terminals.push(terminal);
  const header = await terminal.expect(/run (\d+) {2}\S+/, { timeoutMs: 30_000 });
  const id = Number(/run (\d+)/.exec(header.match)![1]);
  await terminal.expect("hold", { timeoutMs: 30_000 });
  await terminal.write("\x03");
  await terminal.expect(
    `run ${id} goes on in the daemon: follow it with quirectl watch ${id}, cancel it with quirectl cancel ${id} (or press Ctrl-C again now)`,
    { timeoutMs: 10_000 },
  );
  await terminal.write("\x03");
  await terminal.expect(`cancelling run ${id}`, { timeoutMs: 10_000 });
  const result = await terminal.wait();
  assert.equal(result.exitCode, 1, result.output);
  assert.match(result.output, new RegExp(`run ${id} cancelled`));
  assert.equal(await state(id), "cancelled");
});
