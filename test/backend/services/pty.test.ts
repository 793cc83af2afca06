// The pty service against a real daemon: sessions outlive clients, one writer at a time, backlog for late
// attachers, tail, kill, and errors with permanent codes.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PtyClient, type PtySession } from "../../../src/client/pty.js";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { eventually } from "../../helpers/eventually.js";
import { alive, identify } from "../../helpers/fixtures.js";
import { Gate } from "../../helpers/gate.js";
import { tempRepos } from "../../helpers/git.js";

const dirs = tempRepos();
let daemon: TestDaemon;
const clients: PtyClient[] = [];
before(async () => (daemon = await startTestDaemon()));
after(async () => {
  for (const c of clients) c.close();
  await daemon.stop();
});

async function client(): Promise<PtyClient> {
  const c = await PtyClient.connect({ home: daemon.home, autostart: false });
  clients.push(c);
  return c;
}

/** Collects an attachment's output until `pattern` shows up. */
function waitForOutput(a: import("../../../src/client/pty.js").Attachment, pattern: RegExp, timeoutMs = 5_000): Promise<string> {
  let seen = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in ${JSON.stringify(seen)}`)), timeoutMs);
    a.on("output", (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

test("a session outlives the client that started it, and a late attacher sees the backlog", async () => {
  const starter = await client();
  await starter.start({ name: "survivor", file: "sh", args: ["-c", "echo hello from the start; cat"] });
  starter.close();

  const later = await client();
  // Attach only once the command has printed: under load it may not have yet, and the backlog would be empty.
  await eventually(
    async () => ((await later.list()).find((s) => s.name === "survivor")?.outputBytes ?? 0n) > 0n,
    "the command's first output",
  );
  const [session] = (await later.list()).filter((s) => s.name === "survivor");
  assert.equal(session?.state, "running");
  assert.equal(alive(identify(session!.pid)), true);

  const a = await later.attach("survivor");
  assert.match(a.backlog.toString(), /hello from the start/);
  assert.equal(a.writer, true);
  const echoed = waitForOutput(a, /typed line/);
  await a.input("typed line\r");
  await echoed;
  await a.detach();

  const again = await later.attach("survivor", { write: false });
  assert.match(again.backlog.toString(), /typed line/, "reattaching shows what happened meanwhile");
  await again.detach();
  await later.kill("survivor");
});

test("two clients racing to attach: one writer; the other reads until it takes over", async () => {
  const [one, two] = [await client(), await client()];
  await one.start({ name: "race", file: "cat" });
  const [a, b] = await Promise.all([one.attach("race"), two.attach("race")]);
  assert.equal([a.writer, b.writer].filter(Boolean).length, 1, "exactly one writer");
  const [writer, reader] = a.writer ? [a, b] : [b, a];
  await assert.rejects(reader.input("not mine\r"), { code: "QUIRE_ERR_PTY_NOT_WRITER" });
  await writer.input("from the writer\r");

  const demoted = new Promise<boolean>((resolve) => writer.once("writer", resolve));
  const taker = await (writer === a ? two : one).attach("race", { takeover: true });
  assert.equal(taker.writer, true);
  assert.equal(await demoted, false, "the old writer is told");
  await assert.rejects(writer.input("too late\r"), { code: "QUIRE_ERR_PTY_NOT_WRITER" });
  await taker.input("new writer\r");
  await one.kill("race");
});

test("the writer's leaving frees the writer seat", async () => {
  const [one, two] = [await client(), await client()];
  await one.start({ name: "seat", file: "cat" });
  const first = await one.attach("seat");
  assert.equal(first.writer, true);
  one.close();
  await eventually(async () => !(await two.list()).find((s) => s.name === "seat")!.hasWriter, "the seat to be free");
  const second = await two.attach("seat");
  assert.equal(second.writer, true);
  await two.kill("seat");
});

test("tail shows the backlog; --follow streams until exit; exit is reported", async () => {
  const c = await client();
  const gate = new Gate(dirs.dir("gate"));
  await c.start({ name: "counter", file: "sh", args: ["-c", `echo n1; echo n2; ${gate.wait}; echo n3`] });
  let followed = "";
  let onExit!: (session: PtySession) => void;
  const exited = new Promise<PtySession>((resolve) => (onExit = resolve));
  await c.tail("counter", true, (d) => (followed += d.toString()), onExit);
  gate.open(); // n3 comes while the tail follows
  const session = await exited;
  assert.equal(session.state, "exited");
  assert.equal(session.exitCode, 0);
  assert.match(followed, /n3/);
  const tail = await c.tail("counter", false);
  assert.match(tail.backlog.toString(), /n1\r\nn2\r\nn3/);
  const [listed] = (await c.list()).filter((s) => s.name === "counter");
  assert.equal(listed?.state, "exited");
  await c.kill("counter");
  assert.equal(
    (await c.list()).some((s) => s.name === "counter"),
    false,
    "kill of an exited session removes it",
  );
});

test("kill ends the session's whole tree", async () => {
  const c = await client();
  await c.start({ name: "tree", file: "sh", args: ["-c", "(trap '' HUP INT TERM; sleep 300) & echo child $!; wait"] });
  const a = await c.attach("tree", { write: false });
  const seen = a.backlog.toString().match(/child (\d+)/) ? a.backlog.toString() : await waitForOutput(a, /child \d+/);
  const grandchild = identify(Number(seen.match(/child (\d+)/)![1]));
  assert.equal(alive(grandchild), true);
  const ended = await c.kill("tree");
  assert.equal(ended.state, "exited");
  assert.equal(alive(grandchild), false);
});

test("errors carry permanent codes", async () => {
  const c = await client();
  await assert.rejects(c.attach("no-such"), { code: "QUIRE_ERR_PTY_NO_SESSION" });
  await assert.rejects(c.start({ name: "Bad Name", file: "true" }), { code: "QUIRE_ERR_PTY_INVALID_NAME" });
  await assert.rejects(c.start({ name: "nocmd", file: "no-such-command-xyz" }), { code: "QUIRE_ERR_COMMAND_NOT_FOUND" });
  await c.start({ name: "taken", file: "cat" });
  await assert.rejects(c.start({ name: "taken", file: "cat" }), { code: "QUIRE_ERR_PTY_NAME_TAKEN" });
  await c.kill("taken");
});
