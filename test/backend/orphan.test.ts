// A backend whose broker dies finishes its work and exits: nothing a service started outlives them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PtyClient } from "../../src/client/pty.js";
import { startTestDaemon } from "../helpers/daemon.js";
import { alive, eventually } from "../helpers/fixtures.js";

test("SIGKILL quired: the pty backend ends its sessions' trees, even ones that ignore SIGHUP, and exits", async () => {
  const daemon = await startTestDaemon();
  try {
    const c = await PtyClient.connect({ home: daemon.home, autostart: false });
    await c.start({ name: "stubborn", file: "sh", args: ["-c", "trap '' HUP INT; echo \"pid $$\"; exec sleep 300"] });
    let output = "";
    const tail = await c.tail("stubborn", true, (d) => (output += d.toString()));
    output = tail.backlog.toString() + output;
    await eventually(() => /pid \d+/.test(output), "the session to say its pid");
    const pid = Number(output.match(/pid (\d+)/)![1]);
    const backends = await daemon.backendPids();
    c.close();

    daemon.process.kill("SIGKILL");
    await daemon.exited;
    await eventually(() => !alive(pid), "the session's process to be gone", 15_000);
    await eventually(() => backends.every((b) => !alive(b)), "the backends to exit", 15_000);
  } finally {
    await daemon.stop();
  }
});
