// Starting the processes the benchmarks measure: quired in a temporary home, and the raw echo baseline.
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startTestDaemon, type TestDaemon } from "../../test/helpers/daemon.js";

export type { TestDaemon };

/** A quired tuned only so the benchmark itself is not rate limited. */
export function startBenchDaemon(nodeFlags: string[] = []): Promise<TestDaemon> {
  const flags = [
    "--hello-rate",
    "1000000",
    "--hello-burst",
    "1000000",
    "--max-pending-tokens",
    "100000",
    "--max-pending-tokens-per-peer",
    "100000",
  ];
  return startTestDaemon(flags, undefined, {}, nodeFlags);
}

export async function startRawEcho(dir: string): Promise<{ path: string; child: ChildProcess }> {
  const path = join(dir, "raw-echo.sock");
  const child = fork(fileURLToPath(new URL("./raw-echo-server.js", import.meta.url)), [path], {
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`raw echo server exited with ${code}`)));
  });
  return { path, child };
}
