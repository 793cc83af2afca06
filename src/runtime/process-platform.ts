// What the runtime knows of a process, and what each platform's module (processes-linux.ts,
// processes-darwin.ts, processes-windows.ts) provides to find them; processes.ts picks one.

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

/** Where pid allocation stood at a moment: the last pid handed out, and a fork count taken no later. */
export interface PidMark {
  pid: number;
  forks: number;
}

/** One platform's way of looking at processes. Scans are not shared here: processes.ts shares them. */
export interface ProcessPlatform {
  /** The process with this pid now, if there is one. */
  describe(pid: number): ProcessInfo | undefined;
  /** Every process, read after the call. */
  listProcesses(): Promise<ProcessInfo[]>;
  /** Which processes hold each of `targets` (`/dev/pts/4`, `pipe:[1234]`) open; the caller is left out. */
  findHolders(targets: Set<string>): Promise<Map<string, number[]>>;
  /** Now, in the units of start times, where those are clock ticks since boot; else undefined. */
  ticksSinceBoot(): number | undefined;
  /** Where pid allocation stands, for a later `mayHaveMembers` (0 where there is no such count). */
  forkMark(): number;
  /** Whether anything may still be in the session or group the reaped `root` led; true when it cannot tell. */
  mayHaveMembers(root: ProcessIdentity, mark: number): Promise<boolean>;
  /** Where pid allocation stands now, for a later `createdSince`; undefined where the platform does not say. */
  pidMark(): PidMark | undefined;
  /** The live processes created since `mark` (the caller left out); undefined when that cannot be told. */
  createdSince(mark: PidMark): Promise<number[] | undefined>;
}
