// Ending a whole process tree: interrupt, then TERM, then KILL after the grace period. Each round
// re-collects the tree (children spawned meanwhile are caught) and signals only processes whose pid
// still carries the start time we saw.
import { execFile } from "node:child_process";
import { collectTree, isAlive, mayHaveMembers, signalProcess, type Holders, type ProcessIdentity, type ProcessInfo } from "./processes.js";

/** Polling for the members' end starts at this interval and backs off to the cap: many trees may be ending at once. */
const POLL_MS = 10;
const POLL_MAX_MS = 100;

/**
 * How long a command's terminal or pipes may stay open after it exited before we conclude a leftover
 * holds them and go looking for it. The look is an fd scan of every process: too dear for every exit.
 */
export const HOLDER_GRACE_MS = 50;

/** Resolves with how many members outlived even SIGKILL (processes we may not signal: another user's). */
export async function terminateTree(root: ProcessIdentity, holders: Holders, graceMs: number): Promise<number> {
  if (process.platform === "win32") return terminateWindows(root.pid);
  const rounds: [NodeJS.Signals, number][] = [
    ["SIGINT", graceMs / 2],
    ["SIGTERM", graceMs / 2],
    ["SIGKILL", 5_000],
  ];
  let members: ProcessInfo[] = [];
  for (const [signal, waitMs] of rounds) {
    members = await collectTree(root, holders);
    if (members.length === 0) return 0;
    for (const member of members) signalProcess(member, signal);
    // SIGCONT wakes stopped processes so they can act on the signal.
    if (signal !== "SIGKILL") for (const member of members) signalProcess(member, "SIGCONT");
    await waitGone(members, waitMs);
  }
  return members.filter(isAlive).length;
}

/**
 * Once the root has exited and its terminal or pipes have closed: ends what is left in its session and
 * process group. Usually nothing is, and the kernel says so for much less than a scan of /proc costs
 * (`mayHaveMembers`); `mark` is a `forkMark()` from before the root started.
 */
export async function endLeftovers(root: ProcessIdentity, mark: number, graceMs: number): Promise<number> {
  if (!(await mayHaveMembers(root, mark))) return 0;
  return terminateTree(root, {}, graceMs);
}

async function waitGone(members: ProcessInfo[], waitMs: number): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let pollMs = POLL_MS; members.some(isAlive) && Date.now() < deadline; pollMs = Math.min(POLL_MAX_MS, pollMs * 2)) {
    await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
  }
}

/** Windows has no signals to escalate through: taskkill ends the tree at once. (Untested here.) */
function terminateWindows(pid: number): Promise<number> {
  return new Promise((resolve) => execFile("taskkill", ["/PID", String(pid), "/T", "/F"], () => resolve(0)));
}
