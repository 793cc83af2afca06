// Processes as the OS sees them: identity (pid + start time, so a reused pid is never mistaken for the
// process we started), parentage, sessions and who holds a terminal or pipe open.
// Linux reads /proc; macOS asks ps and lsof (written, not tested here); Windows has no equivalent here.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

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

export function listProcesses(): ProcessInfo[] {
  return process.platform === "linux" ? listLinux() : process.platform === "darwin" ? listDarwin() : [];
}

export function describe(pid: number): ProcessInfo | undefined {
  if (process.platform === "linux") return readLinuxStat(pid);
  return listProcesses().find((p) => p.pid === pid);
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
 */
export function collectTree(root: ProcessIdentity, holders: Holders = {}): ProcessInfo[] {
  const all = listProcesses().filter((p) => p.pid !== process.pid && !p.zombie);
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
  if (holders.tty || holders.pipeInodes?.length) {
    for (const pid of holdersOf(all.filter((p) => !members.has(p.pid) && p.pid !== root.pid), holders)) {
      members.set(pid, all.find((p) => p.pid === pid)!);
    }
    grow();
  }
  return [...members.values()];
}

function holdersOf(candidates: ProcessInfo[], holders: Holders): number[] {
  if (process.platform === "darwin") return holdersDarwin(holders);
  const targets = new Set<string>([...(holders.tty ? [holders.tty] : []), ...(holders.pipeInodes ?? []).map((i) => `pipe:[${i}]`)]);
  const found: number[] = [];
  for (const p of candidates) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p.pid}/fd`);
    } catch {
      continue; // gone, or not ours to look at
    }
    for (const fd of fds) {
      try {
        if (targets.has(readlinkSync(`/proc/${p.pid}/fd/${fd}`))) {
          found.push(p.pid);
          break;
        }
      } catch {}
    }
  }
  return found;
}

function listLinux(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (name.charCodeAt(0) < 48 || name.charCodeAt(0) > 57) continue;
    const info = readLinuxStat(Number(name));
    if (info) out.push(info);
  }
  return out;
}

/** /proc/PID/stat: "pid (comm) state ppid pgrp session tty_nr ... starttime(22) ...". comm may hold spaces and parens. */
function readLinuxStat(pid: number): ProcessInfo | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
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

function listDarwin(): ProcessInfo[] {
  let text: string;
  try {
    text = execFileSync("ps", ["-axo", "pid=,ppid=,pgid=,stat=,lstart="], { encoding: "utf8" });
  } catch {
    return [];
  }
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [pid, ppid, pgrp, stat, ...start] = line.trim().split(/\s+/);
      return { pid: Number(pid), ppid: Number(ppid), pgrp: Number(pgrp), session: 0, zombie: stat!.startsWith("Z"), startTime: start.join(" ") };
    });
}

function holdersDarwin(holders: Holders): number[] {
  if (!holders.tty) return [];
  try {
    return execFileSync("lsof", ["-t", holders.tty], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
