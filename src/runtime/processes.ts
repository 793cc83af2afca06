// Processes as the OS sees them: identity (pid + start time, so a reused pid is never mistaken for the
// process we started), parentage, sessions and who holds a terminal or pipe open.
// Linux reads /proc; macOS asks ps and lsof (written, not tested here); Windows has no equivalent here.
import { execFile, execFileSync } from "node:child_process";
import { channel } from "node:diagnostics_channel";
import { closeSync, existsSync, openSync, readFileSync, readSync } from "node:fs";
import { readdir, readFile, readlink } from "node:fs/promises";
import { promisify } from "node:util";

/**
 * One message per scan of the process table (`{ scan: "processes", processes }`) or of every process's
 * descriptors (`{ scan: "holders", processes }`): the expensive reads, which concurrent callers share.
 * `{ scan: "window", processes }` is the cheap look `mayHaveMembers` takes at the pids handed out while
 * a command ran.
 */
export const processScanChannel = channel("quire:runtime:process-scan");

export interface ProcessIdentity {
  pid: number;
  /** Opaque start time: clock ticks since boot on Linux, ps's lstart on macOS. */
  startTime: string;
}

export interface ProcessInfo extends ProcessIdentity {
  ppid: number;
  pgrp: number;
  /** Session id; 0 where the platform does not say. */
  session: number;
  zombie: boolean;
}

/**
 * What else marks a process as part of a command's tree: holding its terminal or its pipes open. Only
 * meaningful while the command's terminal and pipes are open: once closed, the kernel reuses the pts
 * number and the inodes, so sources clear these fields when they close.
 */
export interface Holders {
  /** The PTY slave's path, e.g. /dev/pts/4. */
  tty?: string;
  /** Pipe inodes of the command's stdio. */
  pipeInodes?: readonly string[];
}

export function describe(pid: number): ProcessInfo | undefined {
  if (process.platform === "linux") return readLinuxStat(pid);
  if (process.platform === "darwin") return parseDarwinPs(psSync()).find((p) => p.pid === pid);
  return undefined;
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
  if (process.platform !== "linux") return undefined;
  try {
    // USER_HZ, the unit of /proc/<pid>/stat's start time, is 100 on every Linux architecture node runs on.
    return Math.floor(Number(readFileSync("/proc/uptime", "latin1").split(" ")[0]) * 100);
  } catch {
    return undefined;
  }
}

function startedAfter(p: ProcessInfo, ticks: number | undefined): boolean {
  return ticks !== undefined && Number(p.startTime) > ticks;
}

/**
 * Where the kernel's pid allocation stood before a command started: a count of every process and
 * thread created since boot. Taken from an earlier read when there was one (an older count only makes
 * `mayHaveMembers` more careful), so starting a command costs no read.
 */
export function forkMark(): number {
  if (process.platform !== "linux") return 0;
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
export async function mayHaveMembers(root: ProcessIdentity, mark: number): Promise<boolean> {
  if (process.platform !== "linux") return true;
  const isMember = (p: ProcessInfo | undefined) => p !== undefined && !p.zombie && (p.session === root.pid || p.pgrp === root.pid);
  let last = lastPidSince(root.pid, mark);
  if (last === undefined) return true;
  if (last >= root.pid && last - root.pid <= PROBED_WINDOW) {
    if (processScanChannel.hasSubscribers) processScanChannel.publish({ scan: "window", processes: last - root.pid });
    for (let pid = root.pid + 1; pid <= last; pid++) {
      // existsSync: most of the window is gone or never was a process, and it does not throw for those.
      if (pid !== process.pid && existsSync(`/proc/${pid}`) && isMember(readLinuxStat(pid))) return true;
    }
    return false;
  }
  // A wide window: list /proc (shared with concurrent callers), then see where the window ends.
  const pids = await listPids();
  last = lastPidSince(root.pid, mark);
  if (last === undefined) return true;
  const end = last;
  const inWindow = (pid: number) => pid !== process.pid && (end >= root.pid ? pid > root.pid && pid <= end : pid > root.pid || pid <= end);
  const candidates = pids.filter(inWindow);
  if (processScanChannel.hasSubscribers) processScanChannel.publish({ scan: "window", processes: candidates.length });
  let member = false;
  await forEachLimited(candidates, 64, async (pid) => {
    if (member) return;
    const stat = await readFile(`/proc/${pid}/stat`, "latin1").catch(() => undefined);
    if (stat !== undefined && isMember(parseLinuxStat(pid, stat))) member = true;
  });
  return member;
}

/** Windows up to this many pids wide are probed pid by pid; wider ones are matched against a listing. */
const PROBED_WINDOW = 64;

/**
 * The last pid the kernel handed out, if the pids handed out since `mark` cannot have come round past
 * `rootPid` again; undefined when they may have, or when /proc does not say.
 */
function lastPidSince(rootPid: number, mark: number): number | undefined {
  let last: number;
  let tasks: number;
  try {
    // "0.52 0.58 0.59 2/242 30541": runnable/all tasks, then the last pid handed out in our namespace.
    const fields = readFileSync("/proc/loadavg", "latin1").trim().split(" ");
    tasks = Number(fields[3]!.split("/")[1]);
    last = Number(fields[4]);
    pidMax ??= Number(readFileSync("/proc/sys/kernel/pid_max", "latin1"));
  } catch {
    return undefined;
  }
  // Counted after `last` was read, so it counts at least every pid handed out up to `last`. Coming
  // round once takes pid_max allocations, less the reserved low pids and those in use: stay well short.
  const created = readForkCount() - mark;
  if (!(created >= 0 && created + tasks < (pidMax - 300) / 2)) return undefined;
  return Number.isInteger(last) && last > 0 ? last : undefined;
}

/** What a holder's descriptor links to: `/dev/pts/4`, `pipe:[1234]`. */
function holderTargets(holders: Holders): Set<string> {
  return new Set([...(holders.tty ? [holders.tty] : []), ...(holders.pipeInodes ?? []).map((i) => `pipe:[${i}]`)]);
}

/**
 * One scan for everyone who asks in the same tick; whoever asks while a scan runs gets the next one, so
 * every caller sees the table as it was after it asked (a process it just started is in it).
 */
class SharedScan<Request, Result> {
  #queued: { requests: Request[]; promise: Promise<Result>; resolve(r: Result): void; reject(e: unknown): void } | undefined;
  #running = false;

  constructor(private readonly run: (requests: Request[]) => Promise<Result>) {}

  request(request: Request): Promise<Result> {
    if (!this.#queued) {
      let resolve!: (r: Result) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Result>((res, rej) => ([resolve, reject] = [res, rej]));
      this.#queued = { requests: [], promise, resolve, reject };
      if (!this.#running) setImmediate(() => this.#start());
    }
    this.#queued.requests.push(request);
    return this.#queued.promise;
  }

  #start(): void {
    const batch = this.#queued;
    if (!batch || this.#running) return;
    this.#queued = undefined;
    this.#running = true;
    this.run(batch.requests)
      .then(batch.resolve, batch.reject)
      .finally(() => {
        this.#running = false;
        if (this.#queued) setImmediate(() => this.#start());
      });
  }
}

const processTable = new SharedScan<void, ProcessInfo[]>(async () => {
  const list = process.platform === "linux" ? await listLinuxAsync() : process.platform === "darwin" ? await listDarwinAsync() : [];
  if (processScanChannel.hasSubscribers) processScanChannel.publish({ scan: "processes", processes: list.length });
  return list;
});

/** The pids in /proc, listed after the call; concurrent callers share one listing. */
const pidList = new SharedScan<void, number[]>(async () => (await readdir("/proc")).filter(isPidName).map(Number));

function listPids(): Promise<number[]> {
  return pidList.request();
}

/** Every process, read after the call; concurrent callers share one read. */
export function scanProcesses(): Promise<ProcessInfo[]> {
  return processTable.request();
}

const holderTable = new SharedScan<Set<string>, Map<string, number[]>>(async (requests) => {
  const targets = new Set(requests.flatMap((r) => [...r]));
  if (process.platform === "darwin") return holdersDarwin(targets);
  const found = new Map<string, number[]>();
  const pids = (await readdir("/proc")).filter(isPidName).map(Number).filter((pid) => pid !== process.pid);
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
});

/** Which processes hold each of `targets` open, by descriptor link; concurrent callers share one scan. */
function scanHolders(targets: Set<string>): Promise<Map<string, number[]>> {
  return holderTable.request(targets);
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

async function listLinuxAsync(): Promise<ProcessInfo[]> {
  const pids = (await readdir("/proc")).filter(isPidName).map(Number);
  const out: (ProcessInfo | undefined)[] = new Array(pids.length);
  await forEachLimited([...pids.keys()], 64, async (i) => {
    const stat = await readFile(`/proc/${pids[i]}/stat`, "latin1").catch(() => undefined);
    out[i] = stat === undefined ? undefined : parseLinuxStat(pids[i]!, stat);
  });
  return out.filter((p): p is ProcessInfo => p !== undefined);
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

const PS_ARGS = ["-axo", "pid=,ppid=,pgid=,stat=,lstart="];

function psSync(): string {
  try {
    return execFileSync("ps", PS_ARGS, { encoding: "utf8" });
  } catch {
    return "";
  }
}

async function listDarwinAsync(): Promise<ProcessInfo[]> {
  const { stdout } = await promisify(execFile)("ps", PS_ARGS, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).catch(() => ({ stdout: "" }));
  return parseDarwinPs(stdout);
}

function parseDarwinPs(text: string): ProcessInfo[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [pid, ppid, pgrp, stat, ...start] = line.trim().split(/\s+/);
      return { pid: Number(pid), ppid: Number(ppid), pgrp: Number(pgrp), session: 0, zombie: stat!.startsWith("Z"), startTime: start.join(" ") };
    });
}

/** lsof finds who holds the terminal; pipes are not looked for on macOS. */
async function holdersDarwin(targets: Set<string>): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  for (const tty of [...targets].filter((t) => t.startsWith("/dev/"))) {
    const { stdout } = await promisify(execFile)("lsof", ["-t", tty], { encoding: "utf8" }).catch(() => ({ stdout: "" }));
    found.set(tty, stdout.split("\n").filter(Boolean).map(Number));
  }
  return found;
}
