// Processes on Linux, from /proc: stat lines for identity and parentage, descriptor links for who holds
// a terminal or pipe open, and the kernel's pid allocation to tell when nothing can be left of a tree.
import { closeSync, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { readdir, readlink } from "node:fs/promises";
import type { PidMark, ProcessIdentity, ProcessInfo, ProcessPlatform } from "./process-platform.js";
import { processScanChannel, SharedScan } from "./shared-scan.js";

export const linuxProcesses: ProcessPlatform = {
  describe: readLinuxStat,
  listProcesses,
  findHolders,
  ticksSinceBoot,
  forkMark,
  mayHaveMembers,
  pidMark,
  createdSince,
};

function ticksSinceBoot(): number | undefined {
  try {
    // USER_HZ, the unit of /proc/<pid>/stat's start time, is 100 on every Linux architecture node runs on.
    return Math.floor(Number(readFileSync("/proc/uptime", "latin1").split(" ")[0]) * 100);
  } catch {
    return undefined;
  }
}

/**
 * Where the kernel's pid allocation stood before a command started: a count of every process and
 * thread created since boot. Taken from an earlier read when there was one (an older count only makes
 * `mayHaveMembers` more careful), so starting a command costs no read.
 */
function forkMark(): number {
  return (lastForkCount ??= readForkCount());
}

let lastForkCount: number | undefined;
let pidMax: number | undefined;

/** /proc/stat's "processes": every fork and clone since boot, in every pid namespace. */
function readForkCount(): number {
  try {
    const stat = readFileSync("/proc/stat", "latin1");
    const at = stat.indexOf("\nprocesses ");
    const count = at < 0 ? NaN : Number.parseInt(stat.slice(at + 11), 10);
    if (Number.isFinite(count)) return (lastForkCount = count);
  } catch {}
  return Number.POSITIVE_INFINITY; // unknown: mayHaveMembers then always says "maybe"
}

/**
 * After the root has exited and been reaped: may anything still be in the session or process group
 * it led (what `collectTree(root)` would find)? False only when nothing can be, so the caller can skip
 * the full scan of /proc. Members were all created after the root, and the kernel hands out pids in
 * cyclic order, so their pids lie between the root's and the last one handed out (/proc/loadavg): only
 * the live pids in that window are read. Usually it holds a few, probed directly. When so many
 * processes were created since `mark` (a `forkMark()` from before the root started) that the window
 * may have come round past the root's pid, the answer is "maybe". (A pid chosen through clone3's
 * set_tid, which needs CAP_CHECKPOINT_RESTORE, could fall outside the window.)
 */
async function mayHaveMembers(root: ProcessIdentity, mark: number): Promise<boolean> {
  const isMember = (p: ProcessInfo | undefined) => p !== undefined && !p.zombie && (p.session === root.pid || p.pgrp === root.pid);
  const window = await pidsSince(root.pid, mark);
  if (window === undefined) return true;
  if (processScanChannel.hasSubscribers) processScanChannel.publish({ scan: "window", processes: window.pids.length });
  if (!window.listed) return window.pids.some((pid) => isMember(readLinuxStat(pid)));
  let member = false;
  await readStats(window.pids, (p) => !(member = isMember(p)));
  return member;
}

/**
 * The pids now in /proc (but ours) that the kernel handed out after `start`, a pid handed out no later
 * than `mark` (a `forkMark()`) was taken; undefined when so many were handed out since that they may have
 * come round past `start`. A narrow window is probed pid by pid (`listed` false: few of them, so a
 * synchronous read of each is cheap); a wide one is matched against a listing of /proc, shared with
 * concurrent callers.
 */
async function pidsSince(start: number, mark: number): Promise<{ pids: number[]; listed: boolean } | undefined> {
  let last = lastPidSince(start, mark);
  if (last === undefined) return undefined;
  if (last >= start && last - start <= PROBED_WINDOW) {
    const pids: number[] = [];
    // existsSync: most of the window is gone or never was a process, and it does not throw for those.
    for (let pid = start + 1; pid <= last; pid++) if (pid !== process.pid && existsSync(`/proc/${pid}`)) pids.push(pid);
    return { pids, listed: false };
  }
  const listed = await pidList.request();
  last = lastPidSince(start, mark);
  if (last === undefined) return undefined;
  const end = last;
  const inWindow = (pid: number) => pid !== process.pid && (end >= start ? pid > start && pid <= end : pid > start || pid <= end);
  return { pids: listed.filter(inWindow), listed: true };
}

/**
 * Where pid allocation stands now: the last pid handed out and a fork count no later than it, for a
 * later `createdSince`. One read of /proc/loadavg (the count is the last one read, as in `forkMark`).
 */
function pidMark(): PidMark | undefined {
  const forks = forkMark();
  const pid = lastPid();
  return pid === undefined ? undefined : { pid, forks };
}

/** The live pids created since `mark` was taken (ours left out); undefined when that cannot be told. */
async function createdSince(mark: PidMark): Promise<number[] | undefined> {
  return (await pidsSince(mark.pid, mark.forks))?.pids;
}

/** Windows up to this many pids wide are probed pid by pid; wider ones are matched against a listing. */
const PROBED_WINDOW = 64;

/**
 * The last pid the kernel handed out, if the pids handed out since `mark` cannot have come round past
 * `rootPid` again; undefined when they may have, or when /proc does not say.
 */
function lastPidSince(rootPid: number, mark: number): number | undefined {
  const now = readLoadavg();
  if (now === undefined) return undefined;
  // Counted after `last` was read, so it counts at least every pid handed out up to `last`. Coming
  // round once takes pid_max allocations, less the reserved low pids and those in use: stay well short.
  const created = readForkCount() - mark;
  if (!(created >= 0 && created + now.tasks < (now.pidMax - 300) / 2)) return undefined;
  return now.last;
}

function lastPid(): number | undefined {
  return readLoadavg()?.last;
}

/** The last pid handed out in our namespace and how many tasks there are, from /proc/loadavg; with pid_max. */
function readLoadavg(): { last: number; tasks: number; pidMax: number } | undefined {
  try {
    // "0.52 0.58 0.59 2/242 30541": runnable/all tasks, then the last pid handed out in our namespace.
    const fields = readFileSync("/proc/loadavg", "latin1").trim().split(" ");
    const tasks = Number(fields[3]!.split("/")[1]);
    const last = Number(fields[4]);
    pidMax ??= Number(readFileSync("/proc/sys/kernel/pid_max", "latin1"));
    return Number.isInteger(last) && last > 0 ? { last, tasks, pidMax } : undefined;
  } catch {
    return undefined;
  }
}

/** The pids in /proc, listed after the call; concurrent callers share one listing. */
const pidList = new SharedScan<void, number[]>(async () => (await readdir("/proc")).filter(isPidName).map(Number));

/** Every process's descriptor links, compared with `targets`. */
async function findHolders(targets: Set<string>): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  const pids = (await readdir("/proc"))
    .filter(isPidName)
    .map(Number)
    .filter((pid) => pid !== process.pid);
  await forEachLimited(pids, 32, async (pid) => {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      return; // gone, or not ours to look at
    }
    const seen = new Set<string>();
    for (const fd of fds) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => undefined);
      if (target === undefined || !targets.has(target) || seen.has(target)) continue;
      seen.add(target);
      found.set(target, [...(found.get(target) ?? []), pid]);
    }
  });
  if (processScanChannel.hasSubscribers) processScanChannel.publish({ scan: "holders", processes: pids.length });
  return found;
}

async function forEachLimited<T>(items: readonly T[], limit: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await each(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function isPidName(name: string): boolean {
  const c = name.charCodeAt(0);
  return c >= 48 && c <= 57;
}

async function listProcesses(): Promise<ProcessInfo[]> {
  const pids = (await readdir("/proc")).filter(isPidName).map(Number);
  const out: ProcessInfo[] = [];
  await readStats(pids, (p) => out.push(p) > 0);
  return out;
}

/** Stat lines read between two turns of the event loop. */
const STATS_PER_TURN = 64;

/**
 * Gives `each` the stat of every pid still there, until it returns false (go on: true). Read synchronously into one
 * buffer, a slice at a time with a turn of the event loop between: readFile would allocate 64 KiB for
 * every one (a procfs file has no size), which a scan of every process made tens of megabytes of garbage,
 * and go through the thread pool four times.
 */
async function readStats(pids: readonly number[], each: (info: ProcessInfo) => boolean): Promise<void> {
  for (let i = 0; i < pids.length; i++) {
    if (i > 0 && i % STATS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    const info = readLinuxStat(pids[i]!);
    if (info !== undefined && each(info) === false) return;
  }
}

/** /proc/PID/stat: "pid (comm) state ppid pgrp session tty_nr ... starttime(22) ...". comm may hold spaces and parens. */
function readLinuxStat(pid: number): ProcessInfo | undefined {
  // One read into a reused buffer: readFileSync would stat the file and read twice (procfs sizes are 0).
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/stat`, "r");
  } catch {
    return undefined;
  }
  try {
    const n = readSync(fd, statBuffer, 0, statBuffer.length, null);
    return n > 0 ? parseLinuxStat(pid, statBuffer.toString("latin1", 0, n)) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A stat line is at most a few hundred bytes (comm is at most 64). */
const statBuffer = Buffer.allocUnsafe(4096);

function parseLinuxStat(pid: number, stat: string): ProcessInfo {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // fields[0] is field 3 (state).
  return {
    pid,
    startTime: fields[19]!,
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    zombie: fields[0] === "Z" || fields[0] === "X",
  };
}
