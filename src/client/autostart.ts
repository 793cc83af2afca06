// Starting quired in the background on first use (and for `quirectl daemon start`).
import { spawn } from "node:child_process";
import type { Places } from "../core/places.js";
import { quiredCommand } from "../core/quired-command.js";
import { DaemonStartError, DaemonUnreachableError } from "./errors.js";
import { dial } from "./transport.js";

/**
 * What a quired started on demand (by connect(), not by `quirectl daemon start` or at login) is also told:
 * to exit once nothing has used it for 10 minutes (its backends stop after 10 idle minutes first).
 */
export const ON_DEMAND_ARGS: readonly string[] = ["--exit-when-idle", String(10 * 60_000)];

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
  const command = quiredCommand(places, args);
  const child = spawn(command.file, command.args, { detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (stderr += text));
  const exited = new Promise<string>((resolve) => {
    child.once("exit", (code) => resolve(stderr.trim().replace(/^quired: /, "") || `quired exited with code ${code ?? 1}`));
    // Not even started (no memory, no processes left, ...).
    child.once("error", (error) => resolve(`could not run ${process.execPath}: ${error.message}`));
  });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      const outcome = await Promise.race([exited, delay(50).then(() => undefined)]);
      if (outcome !== undefined) throw new DaemonStartError(outcome);
      if (await answers(places.socket)) return { pid: child.pid! };
    }
    child.kill();
    throw new DaemonStartError(`its socket ${places.socket} did not answer within ${timeoutMs} ms; see ${places.logFile}`);
  } catch (error) {
    // A daemon this process cannot reach is of no use to it.
    if (error instanceof DaemonUnreachableError) child.kill();
    throw error;
  } finally {
    child.stderr!.destroy();
    child.unref();
  }
}

/** Does something listen on the socket? Throws DaemonUnreachableError for a socket we cannot use. */
async function answers(socket: string): Promise<boolean> {
  try {
    (await dial(socket, 500)).destroy();
    return true;
  } catch (error) {
    if (!(error instanceof DaemonUnreachableError)) throw error;
    if (error.nobodyListening) return false;
    // A full backlog or a slow accept: a listener is there.
    if (error.errno === "EAGAIN" || error.errno === undefined) return true;
    throw error;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
