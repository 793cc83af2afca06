// Ending a whole process tree: interrupt, then TERM, then KILL after the grace period. Each round
// re-collects the tree (children spawned meanwhile are caught) and signals only processes whose pid
// still carries the start time we saw.
import { execFile } from "node:child_process";
import { channel } from "node:diagnostics_channel";
import { debuglog } from "node:util";
import {
  collectTree,
  isAlive,
  mayHaveMembers,
  signalProcess,
  ticksSinceBoot,
  type Holders,
  type ProcessIdentity,
  type ProcessInfo,
} from "./processes.js";

/** Polling for the members' end starts at this interval and backs off to the cap: many trees may be ending at once. */
const POLL_MS = 10;
const POLL_MAX_MS = 100;

/**
 * How long a command's terminal or pipes may stay open after it exited before we conclude a leftover
 * holds them and go looking for it. The look is an fd scan of every process: too dear for every exit.
 */
export const HOLDER_GRACE_MS = 50;

/**
 * Why a tree is being ended: the caller's kill(), a timeout, leftovers holding the terminal or pipes
 * after the command exited, leftovers still in the command's session once its output is in, or
 * Subprocess.killAll() (a process that must exit now).
 */
export type TerminateReason = "kill" | "timeout-wall" | "timeout-idle" | "holders" | "leftovers" | "kill-all";

/** One message per signal sent to a tree: `{ pid, signal, reason, members }` (pid: the command's). */
export const terminateChannel = channel("quire:runtime:terminate");

/** NODE_DEBUG=quire prints what is signalled and why. */
const debug = debuglog("quire");

/** Resolves with how many members outlived even SIGKILL (processes we may not signal: another user's). */
export async function terminateTree(root: ProcessIdentity, holders: Holders, graceMs: number, reason: TerminateReason): Promise<number> {
  if (process.platform === "win32") {
    announce(root.pid, "taskkill", reason, 1);
    return terminateWindows(root.pid);
  }
  const rounds: [NodeJS.Signals, number][] = [
    ["SIGINT", graceMs / 2],
    ["SIGTERM", graceMs / 2],
    ["SIGKILL", 5_000],
  ];
  let members: ProcessInfo[] = [];
  const since = ticksSinceBoot();
  for (const [signal, waitMs] of rounds) {
    members = await collectTree(root, holders, since);
    if (members.length === 0) return 0;
    announce(root.pid, signal, reason, members.length);
    for (const member of members) signalProcess(member, signal);
    // SIGCONT wakes stopped processes so they can act on the signal.
    if (signal !== "SIGKILL") for (const member of members) signalProcess(member, "SIGCONT");
    await waitGone(members, waitMs);
  }
  return members.filter(isAlive).length;
}

/**
 * Ends a tree at once, with no grace: SIGKILL to every member, then again to any that forked while we
 * looked, until none we may signal is left. It waits as long as that takes, with no deadline to run out
 * on a slow machine; a killed process is gone once the kernel has reaped it (a zombie counts as gone).
 * Resolves with how many members we may not signal (another user's).
 */
export async function killTree(root: ProcessIdentity, holders: Holders, reason: TerminateReason): Promise<number> {
  if (process.platform === "win32") {
    announce(root.pid, "taskkill", reason, 1);
    return terminateWindows(root.pid);
  }
  const since = ticksSinceBoot();
  for (;;) {
    const members = await collectTree(root, holders, since);
    if (members.length === 0) return 0;
    announce(root.pid, "SIGKILL", reason, members.length);
    const killed = members.filter((member) => signalProcess(member, "SIGKILL"));
    if (killed.length === 0) return members.filter(isAlive).length;
    await waitGone(killed, Number.POSITIVE_INFINITY);
  }
}

function announce(pid: number, signal: string, reason: TerminateReason, members: number): void {
  debug("runtime: %s to the %d process(es) of pid %d (%s)", signal, members, pid, reason);
  if (terminateChannel.hasSubscribers) terminateChannel.publish({ pid, signal, reason, members });
}

/**
 * Once the root has exited and its terminal or pipes have closed: ends what is left in its session and
 * process group. Usually nothing is, and the kernel says so for much less than a scan of /proc costs
 * (`mayHaveMembers`); `mark` is a `forkMark()` from before the root started.
 */
export async function endLeftovers(root: ProcessIdentity, mark: number, graceMs: number): Promise<number> {
  if (!(await mayHaveMembers(root, mark))) return 0;
  // What is there is often on its way out: a sandbox's init (bwrap --unshare-pid) is reaped a moment after
  // the root. A few more of the cheap looks first, since ending a tree reads every process, each round.
  for (const deadline = Date.now() + HOLDER_GRACE_MS; Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (!(await mayHaveMembers(root, mark))) return 0;
  }
  return terminateTree(root, {}, graceMs, "leftovers");
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
