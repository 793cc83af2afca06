// quirectl attach from a real terminal: our own runtime runs quirectl in a PTY, types into it, resizes
// it and detaches with Ctrl-].
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, test } from "node:test";
import { spawn } from "../../src/runtime/index.js";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";

let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon()));
after(() => daemon.stop());

function quirectl(args: string[]) {
  const r = spawnSync(process.execPath, [QUIRECTL, "--home", daemon.home, ...args], {
    encoding: "utf8",
    timeout: 20_000,
    env: { ...process.env, QUIRE_NO_AUTOSTART: "1" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function session(name: string) {
  return JSON.parse(quirectl(["ps", "--json"]).stdout).find((s: { name: string }) => s.name === name);
}

test("attach: backlog, typing, resize following the terminal, Ctrl-] detaches and the session lives on", async () => {
  assert.equal(quirectl(["start", "shell", "--", "sh", "-c", 'echo ready; while read line; do echo "got <$line>"; done']).code, 0);
  const term = spawn(process.execPath, [QUIRECTL, "--home", daemon.home, "attach", "shell"], {
    cols: 100,
    rows: 30,
    env: { QUIRE_NO_AUTOSTART: "1" },
  });
  try {
    await term.expect("ready", { timeoutMs: 10_000 });
    await term.expect("Ctrl-] detaches", { timeoutMs: 5_000 });
    assert.equal(session("shell").cols, 100, "the session took the attaching terminal's size");

    await term.write("hello there\r");
    await term.expect("got <hello there>", { timeoutMs: 5_000 });

    term.resize(120, 40);
    await eventually(() => session("shell").cols === 120 && session("shell").rows === 40, "the session to follow the resize");

    await term.write(Buffer.from([0x1d]));
    await term.expect("detached from shell", { timeoutMs: 5_000 });
    assert.equal((await term.wait()).exitCode, 0);
    assert.equal(session("shell").state, "running", "detaching leaves it running");
    assert.match(quirectl(["tail", "shell"]).stdout, /got <hello there>/);
  } finally {
    await term.kill();
    quirectl(["kill", "shell"]);
  }
});

test("attach to a session that exits reports its exit status", async () => {
  assert.equal(quirectl(["start", "brief", "--", "sh", "-c", "read x; exit 4"]).code, 0);
  const term = spawn(process.execPath, [QUIRECTL, "--home", daemon.home, "attach", "brief"], { env: { QUIRE_NO_AUTOSTART: "1" } });
  await term.expect("Ctrl-] detaches", { timeoutMs: 10_000 });
  await term.write("\r");
  await term.expect("brief exited: code 4", { timeoutMs: 5_000 });
  assert.equal((await term.wait()).exitCode, 1);
  quirectl(["kill", "brief"]);
});

test("ps, tail and kill for scripts", async () => {
  assert.equal(quirectl(["start", "scripted", "--env", "WHO=script", "--", "sh", "-c", 'echo "hi $WHO"; sleep 300']).code, 0);
  await eventually(() => quirectl(["tail", "scripted"]).stdout.includes("hi script"), "the --env value to show in the output");
  const listed = session("scripted");
  assert.deepEqual(listed.command, ["sh", "-c", 'echo "hi $WHO"; sleep 300']);
  assert.equal(listed.state, "running");
  const killed = JSON.parse(quirectl(["kill", "scripted", "--json"]).stdout);
  assert.equal(killed.state, "exited");
  assert.equal(quirectl(["kill", "scripted"]).code, 1, "killing it again: no such session");
  assert.equal(quirectl(["start", "x"]).code, 2, "no command is a usage error");
});
