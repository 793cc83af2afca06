import { join } from "node:path";
import { describe, isAlive, type ProcessIdentity } from "../../src/runtime/processes.js";
import { repoRoot } from "./paths.js";

export function fixture(name: string): string {
  return join(repoRoot, "test", "fixtures", name);
}

/**
 * The process now running as `pid`, to check on later with alive(). Pids wrap quickly here (pid_max is
 * 32768 and the suite starts thousands of processes): a bare pid may name another process by then.
 */
export function identify(pid: number): ProcessIdentity {
  const info = describe(pid);
  if (!info) throw new Error(`no process ${pid}`);
  return { pid, startTime: info.startTime };
}

/** Is that very process (pid and start time) alive and not a zombie? */
export function alive(process: ProcessIdentity): boolean {
  return isAlive(process);
}

/** Waits until `predicate` holds, polling; throws after `timeoutMs`. */
export async function eventually(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
