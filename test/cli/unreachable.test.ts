// Regression: quirectl printed a stack trace when it could not reach the daemon for any reason but "no
// socket" (EACCES from a home it could not enter; EAGAIN from a full listen backlog would have too).
// Every failure to reach quired is exit 3 and one sentence saying what to do.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { after, test } from "node:test";
import { QUIRECTL, tempHome } from "../helpers/daemon.js";

const dirs: string[] = [];
const children: ChildProcess[] = [];
const sockets: Socket[] = [];
after(() => {
  for (const s of sockets) s.destroy();
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function quirectl(home: string, args: string[]) {
  const r = spawnSync(process.execPath, [QUIRECTL, "--home", home, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, QUIRE_HOME: "" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function assertOneSentence(stderr: string): void {
  assert.match(stderr, /^quirectl: .+\n$/, stderr);
  assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
}

test("quirectl against a home under a regular file (ENOTDIR) exits 3 with a sentence, autostart or not", () => {
  const dir = tempHome();
  dirs.push(dir);
  writeFileSync(join(dir, "file"), "");
  const home = join(dir, "file", "home");
  for (const args of [
    ["status"],
    ["daemon", "status"],
    ["ps"],
    ["start", "web", "--", "sleep", "1"],
    ["daemon", "start"],
    ["daemon", "stop"],
  ]) {
    const r = quirectl(home, args);
    assert.equal(r.code, 3, `quirectl ${args.join(" ")}: ${r.stderr}`);
    assertOneSentence(r.stderr);
    assert.ok(r.stderr.includes(join(home, "quired.sock")), "the sentence names the socket");
  }
  const json = quirectl(home, ["daemon", "status", "--json"]);
  assert.equal(json.code, 3);
  assert.equal(JSON.parse(json.stdout).errno, "ENOTDIR");
});

test("quirectl against a listener whose backlog is full (EAGAIN) exits 3 with a sentence", async () => {
  const home = tempHome();
  dirs.push(home);
  const path = join(home, "quired.sock");
  // A listener that accepts nothing: started, then stopped, with room for one waiting connection.
  const listener = spawn(
    process.execPath,
    ["-e", `require("net").createServer().listen({ path: ${JSON.stringify(path)}, backlog: 1 }, () => process.stdout.write("ready"))`],
    {
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  children.push(listener);
  await new Promise((resolve) => listener.stdout!.once("data", resolve));
  process.kill(listener.pid!, "SIGSTOP");
  for (let filled = false, tries = 0; !filled; tries++) {
    assert.ok(tries < 100, "the backlog never filled");
    filled = await new Promise<boolean>((resolve) => {
      const s = connect(path);
      sockets.push(s);
      s.once("connect", () => resolve(false));
      s.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EAGAIN"));
    });
  }
  const r = quirectl(home, ["status"]);
  assert.equal(r.code, 3, r.stderr);
  assertOneSentence(r.stderr);
  const json = quirectl(home, ["daemon", "status", "--json"]);
  assert.equal(json.code, 3);
  assert.equal(JSON.parse(json.stdout).errno, "EAGAIN");
});
