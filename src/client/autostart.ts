// Starting quired in the background on first use (and for `quirectl daemon start`).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { probeSocket } from "../broker/listener.js";
import type { Places } from "../broker/paths.js";
import { DaemonStartError } from "./errors.js";

const QUIRED_BIN = fileURLToPath(new URL("../../../bin/quired.js", import.meta.url));

export interface StartOptions {
  places: Places;
  /** Extra quired flags, e.g. --allow-root. */
  args?: string[];
  timeoutMs?: number;
}

/**
 * Launches quired detached from this process and waits until its socket answers. A quired that exits
 * first (say, because another one already runs) is reported with what it printed.
 */
export async function startDaemon({ places, args = [], timeoutMs = 10_000 }: StartOptions): Promise<{ pid: number }> {
  const homeArgs = places.home ? ["--home", places.home] : [];
  const child = spawn(process.execPath, [QUIRED_BIN, ...homeArgs, ...args], { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const exited = new Promise<number>((resolve) => child.once("exit", (code) => resolve(code ?? 1)));
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const outcome = await Promise.race([exited.then((code) => ({ code })), delay(50).then(() => undefined)]);
      if (outcome) throw new DaemonStartError(stderr.trim().replace(/^quired: /, "") || `quired exited with code ${outcome.code}`);
      if (await probeSocket(places.socket, 500)) return { pid: child.pid! };
    }
    child.kill();
    throw new DaemonStartError(`its socket ${places.socket} did not answer within ${timeoutMs} ms; see ${places.logFile}`);
  } finally {
    child.stderr!.destroy();
    child.unref();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
