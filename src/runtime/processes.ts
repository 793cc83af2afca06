// Processes as the OS sees them: identity (pid + start time, so a reused pid is never mistaken for the
// process we started), parentage, sessions and who holds a terminal or pipe open. Each platform looks
// in its own way (processes-linux.ts reads /proc, processes-darwin.ts asks ps and lsof,
// processes-windows.ts has no equivalent); this module picks one and shares the expensive scans.
import type { Holders, PidMark, ProcessIdentity, ProcessInfo, ProcessPlatform } from "./process-platform.js";
import { darwinProcesses } from "./processes-darwin.js";
import { linuxProcesses } from "./processes-linux.js";
import { windowsProcesses } from "./processes-windows.js";
import { processScanChannel, SharedScan } from "./shared-scan.js";

export type { Holders, PidMark, ProcessIdentity, ProcessInfo } from "./process-platform.js";
export { processScanChannel } from "./shared-scan.js";

const platform: ProcessPlatform =
  process.platform === "linux" ? linuxProcesses : process.platform === "darwin" ? darwinProcesses : windowsProcesses;

export function describe(pid: number): ProcessInfo | undefined {
  return platform.describe(pid);
}

/** The live, non-zombie process with this pid and start time, if it still exists. */
export function isAlive(id: ProcessIdentity): boolean {
  const now = describe(id.pid);
  return now !== undefined && !now.zombie && now.startTime === id.startTime;
}

/** Signals the process only if the pid still belongs to it; false when it is gone or not ours. */
export function signalProcess(id: ProcessIdentity, signal: NodeJS.Signals): boolean {
  if (!isAlive(id)) return false;
  try {
    process.kill(id.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * The root and everything that belongs to it: descendants, members of its session and process group
 * (the root leads both), and any process holding its terminal or pipes, with their descendants.
 * Concurrent callers share the scans of /proc (see `scanProcesses`).
 */
export async function collectTree(root: ProcessIdentity, holders: Holders = {}, heldSince?: number): Promise<ProcessInfo[]> {
  const all = (await scanProcesses()).filter((p) => p.pid !== process.pid && !p.zombie);
  const members = new Map<number, ProcessInfo>();
  const holder = all.find((p) => p.pid === root.pid);
  if (holder?.startTime === root.startTime) members.set(holder.pid, holder);
  // The kernel keeps a pid out of reuse while it names a live session or group, so processes in
  // session/group root.pid are the root's, unless another process now has that pid: then the root's
  // session has ended and the number names someone else's.
  const reused = holder !== undefined && holder.startTime !== root.startTime;
  const related = (p: ProcessInfo) => members.has(p.ppid) || (!reused && (p.session === root.pid || p.pgrp === root.pid));
  const grow = () => {
    for (let changed = true; changed; ) {
      changed = false;
      for (const p of all) {
        if (!members.has(p.pid) && related(p)) {
          members.set(p.pid, p);
          changed = true;
        }
      }
    }
  };
  grow();
  if (holderTargets(holders).size > 0) {
    const found = await scanHolders(holderTargets(holders));
    // The source may have closed its terminal or pipes while we looked: then their numbers may already
    // name someone else's, and only what it still holds identifies our tree.
    const still = holderTargets(holders);
    const holding = new Set([...found].filter(([target]) => still.has(target)).flatMap(([, pids]) => pids));
    for (const p of all) {
      if (members.has(p.pid) || p.pid === root.pid || !holding.has(p.pid) || startedAfter(p, heldSince)) continue;
      // Our own children are other commands' roots, or forks that have not yet exec'd and so still hold
      // copies of every descriptor we have open, this command's terminal among them: never its leftovers.
      if (p.ppid === process.pid) continue;
      members.set(p.pid, p);
    }
    grow();
  }
  return [...members.values()];
}

/**
 * The moment a tree's collection began, in the units of Linux start times (clock ticks since boot), so a
 * process that started later is not taken for a holder: the source's terminal may close during the
 * scan, and a new command may get the same pts number before the source knows. Leftovers that fork
 * later are still found, as descendants of members. Undefined where start times are not ticks.
 */
export function ticksSinceBoot(): number | undefined {
  return platform.ticksSinceBoot();
}

function startedAfter(p: ProcessInfo, ticks: number | undefined): boolean {
  return ticks !== undefined && Number(p.startTime) > ticks;
}

/**
 * Where the kernel's pid allocation stood before a command started, for `mayHaveMembers` once it has
 * exited (0 where the platform does not count). Cheap: starting a command costs no read.
 */
export function forkMark(): number {
  return platform.forkMark();
}

/**
 * After the root has exited and been reaped: may anything still be in the session or process group
 * it led (what `collectTree(root)` would find)? False only when nothing can be, so the caller can skip
 * the full scan; `mark` is a `forkMark()` from before the root started. Only Linux can tell (see
 * processes-linux.ts); elsewhere the answer is always "maybe".
 */
export function mayHaveMembers(root: ProcessIdentity, mark: number): Promise<boolean> {
  return platform.mayHaveMembers(root, mark);
}

/**
 * Where pid allocation stands now (Linux: the last pid handed out), so that `createdSince` can later
 * name the processes created after this moment without reading every process; undefined elsewhere.
 */
export function pidMark(): PidMark | undefined {
  return platform.pidMark();
}

/**
 * The live processes created since `mark` (this process left out), found from the pids handed out since
 * (processes-linux.ts); undefined when the platform cannot tell or so many were made that pids may have
 * come round: then only a look at every process will do.
 */
export function createdSince(mark: PidMark): Promise<number[] | undefined> {
  return platform.createdSince(mark);
}

/** What a holder's descriptor links to: `/dev/pts/4`, `pipe:[1234]`. */
function holderTargets(holders: Holders): Set<string> {
  return new Set([...(holders.tty ? [holders.tty] : []), ...(holders.pipeInodes ?? []).map((i) => `pipe:[${i}]`)]);
}

const processTable = new SharedScan<void, ProcessInfo[]>(async () => {
  const list = await platform.listProcesses();
  if (processScanChannel.hasSubscribers) processScanChannel.publish({ scan: "processes", processes: list.length });
  return list;
});

/** Every process, read after the call; concurrent callers share one read. */
export function scanProcesses(): Promise<ProcessInfo[]> {
  return processTable.request();
}

const holderTable = new SharedScan<Set<string>, Map<string, number[]>>((requests) =>
  platform.findHolders(new Set(requests.flatMap((r) => [...r]))),
);

/** Which processes hold each of `targets` open, by descriptor link; concurrent callers share one scan. */
function scanHolders(targets: Set<string>): Promise<Map<string, number[]>> {
  return holderTable.request(targets);
}
