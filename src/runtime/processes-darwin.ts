// Processes on macOS, from ps (identity, parentage; no session ids) and lsof (who holds a terminal).
// Written and typechecked, not tested here (this machine is Linux).
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import type { ProcessInfo, ProcessPlatform } from "./process-platform.js";

export const darwinProcesses: ProcessPlatform = {
  describe: (pid) => parsePs(psSync()).find((p) => p.pid === pid),
  listProcesses,
  findHolders,
  // ps's lstart is not in clock ticks, and there is no count of forks to bound a pid window with.
  ticksSinceBoot: () => undefined,
  forkMark: () => 0,
  mayHaveMembers: async () => true,
  pidMark: () => undefined,
  createdSince: async () => undefined,
};

const PS_ARGS = ["-axo", "pid=,ppid=,pgid=,stat=,lstart="];

function psSync(): string {
  try {
    return execFileSync("ps", PS_ARGS, { encoding: "utf8" });
  } catch {
    return "";
  }
}

async function listProcesses(): Promise<ProcessInfo[]> {
  const { stdout } = await promisify(execFile)("ps", PS_ARGS, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }).catch(() => ({
    stdout: "",
  }));
  return parsePs(stdout);
}

function parsePs(text: string): ProcessInfo[] {
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [pid, ppid, pgrp, stat, ...start] = line.trim().split(/\s+/);
      return {
        pid: Number(pid),
        ppid: Number(ppid),
        pgrp: Number(pgrp),
        session: 0,
        zombie: stat!.startsWith("Z"),
        startTime: start.join(" "),
      };
    });
}

/** lsof finds who holds the terminal; pipes are not looked for on macOS. */
async function findHolders(targets: Set<string>): Promise<Map<string, number[]>> {
  const found = new Map<string, number[]>();
  for (const tty of [...targets].filter((t) => t.startsWith("/dev/"))) {
    const { stdout } = await promisify(execFile)("lsof", ["-t", tty], { encoding: "utf8" }).catch(() => ({ stdout: "" }));
    found.set(tty, stdout.split("\n").filter(Boolean).map(Number));
  }
  return found;
}
