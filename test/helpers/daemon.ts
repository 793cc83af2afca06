// A real quired in a temporary QUIRE_HOME, started as a child process and always cleaned up.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeSocket } from "../../src/core/socket-probe.js";
import { resolvePlaces, type Places } from "../../src/core/places.js";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { describe, signalProcess, type ProcessIdentity } from "../../src/runtime/processes.js";
import { eventually } from "./eventually.js";
import { repoRoot } from "./paths.js";

export const QUIRED = join(repoRoot, "bin", "quired.js");
export const QUIRECTL = join(repoRoot, "bin", "quirectl.js");

export interface TestDaemon {
  home: string;
  places: Places;
  process: ChildProcess;
  /** Resolves with the exit code once quired has exited. */
  exited: Promise<number | null>;
  stderr(): string;
  /** Pids of the backends the broker reports now. */
  backendPids(): Promise<number[]>;
  stop(): Promise<void>;
}

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), "quire-"));
}

/**
 * Starts quired with `flags` (and `env` on top of this process's) and waits until its socket answers.
 * `nodeFlags` go to node itself (and so to the backends quired forks, which inherit its execArgv), e.g. --cpu-prof.
 */
export async function startTestDaemon(
  flags: string[] = [],
  home = tempHome(),
  env: Record<string, string> = {},
  nodeFlags: string[] = [],
): Promise<TestDaemon> {
  const child = spawn(process.execPath, [...nodeFlags, QUIRED, "--home", home, "--allow-root", ...flags], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const places = resolvePlaces({ home });
  /** Backends seen, by pid and start time: a bare pid may belong to another process by cleanup time. */
  const known = new Map<number, ProcessIdentity>();
  const daemon: TestDaemon = {
    home,
    places,
    process: child,
    exited,
    stderr: () => stderr,
    async backendPids() {
      const { status } = await adminCall(AdminOp.STATUS, { home, timeoutMs: 2_000 });
      const pids = status!.backends.map((b) => b.pid).filter((p) => p > 0);
      for (const pid of pids) {
        const info = describe(pid);
        // Only a child of this quired: a backend that exited after STATUS answered leaves its pid free for
        // anyone (pids wrap fast here), and stop() SIGKILLs what it knows. Seen: another suite's test process.
        if (info && info.ppid === child.pid && !known.has(pid)) known.set(pid, { pid, startTime: info.startTime });
      }
      return pids;
    },
    async stop() {
      await daemon.backendPids().catch(() => []);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      for (const backend of known.values()) signalProcess(backend, "SIGKILL");
      rmSync(home, { recursive: true, force: true });
    },
  };
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null) throw new Error(`quired exited with code ${child.exitCode}: ${stderr}`);
        return probeSocket(places.socket, 200);
      },
      () => `quired to start: ${stderr}`,
    );
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  return daemon;
}
