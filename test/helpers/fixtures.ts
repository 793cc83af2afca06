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
