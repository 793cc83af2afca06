// A backend whose broker dies finishes its work and exits: nothing a service started outlives them.
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { PtyClient } from "../../src/client/pty.js";
import { startTestDaemon } from "../helpers/daemon.js";
import { signalProcess } from "../../src/runtime/processes.js";
import { alive, eventually, identify } from "../helpers/fixtures.js";

test("SIGKILL quired: the pty backend ends its sessions' trees, even ones that ignore SIGHUP, and exits", async () => {
  const daemon = await startTestDaemon();
  try {
    const c = await PtyClient.connect({ home: daemon.home, autostart: false });
    await c.start({ name: "stubborn", file: "sh", args: ["-c", "trap '' HUP INT; echo \"pid $$\"; exec sleep 300"] });
    let output = "";
    const tail = await c.tail("stubborn", true, (d) => (output += d.toString()));
    output = tail.backlog.toString() + output;
    await eventually(() => /pid \d+/.test(output), "the session to say its pid");
    const session = identify(Number(output.match(/pid (\d+)/)![1]));
    const backends = (await daemon.backendPids()).map(identify);
    c.close();

    daemon.process.kill("SIGKILL");
    await daemon.exited;
    try {
      await eventually(() => !alive(session), "the session's process to be gone", 15_000);
      await eventually(() => backends.every((b) => !alive(b)), "the backends to exit", 15_000);
    } catch (error) {
      const log = readFileSync(daemon.places.logFile, "utf8").split("\n").slice(-15).join("\n");
      const living = backends.filter(alive).map((b) => b.pid);
      throw new Error(`${(error as Error).message}; backends alive: ${living.join(", ") || "none"}; quired.log ends:\n${log}`);
    } finally {
      signalProcess(session, "SIGKILL");
    }
  } finally {
    await daemon.stop();
  }
});
