// quirectl's own start, as a person at a prompt waits for it: whole processes from spawn to exit. The
// version probe, `--help` and `status` (daemon warm) against `node -e 0`, the start every Node program
// pays; yargs alone beside them, the floor of any command that parses arguments with it; and a warm
// one-step `run --wait` against `node -e 0` plus a bare PTY spawn of `true`, the least such a run can cost.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as NodePty from "node-pty";
import { QUIRECTL } from "../test/helpers/daemon.js";
import { heading, note, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";
import { percentile } from "./lib/stats.js";

const require = createRequire(import.meta.url);
const pty = require("node-pty") as typeof NodePty;

interface Subject {
  name: string;
  /** One invocation; resolves once it has exited (and failed the bench if it did not exit 0). */
  once(): Promise<void>;
  wallMs: number[];
  /** CPU time of the processes it waited for (Linux: the children's times in /proc/self/stat). */
  cpuMs: number;
}

export async function benchCli(daemon: TestDaemon, quick: boolean): Promise<void> {
  heading("quirectl: whole processes, spawn to exit");
  const dir = mkdtempSync(join(tmpdir(), "quire-bench-cli-"));
  try {
    writeFileSync(join(dir, "quire.yml"), 'name: one\njobs:\n  one:\n    steps:\n      - run: "true"\n');
    const env = { ...process.env, QUIRE_HOME: daemon.home, QUIRE_NO_AUTOSTART: "1" };
    const node =
      (...args: string[]) =>
      () =>
        exit0(process.execPath, args, { env, cwd: dir });
    const quirectl = (...args: string[]) => node(QUIRECTL, ...args);
    const subjects = [
      subject("node -e 0", node("-e", "0")),
      subject("yargs alone", node("--input-type=module", "-e", `await import(${JSON.stringify(import.meta.resolve("yargs"))})`)),
      subject("quirectl --version", quirectl("--version")),
      subject("quirectl --help", quirectl("--help")),
      subject("quirectl status", quirectl("status")),
      subject("bare PTY spawn of true", barePtyTrue),
      // --no-cache: the second run of the same tree would be served from the job cache, running nothing.
      subject("quirectl run --wait", quirectl("run", "--wait", "--no-cache")),
    ];
    // Warm: the daemon's ci backend, the disk cache of every file these load.
    for (const s of subjects) await s.once();
    const rounds = quick ? 5 : 20;
    for (let i = 0; i < rounds; i++) for (const s of subjects) await measure(s);
    const [bare, yargs, version, help, status, ptyTrue, run] = subjects as [Subject, Subject, Subject, Subject, Subject, Subject, Subject];
    const baseline = { name: "node -e 0", value: p50(bare) };
    for (const s of [yargs, version, help, status]) report({ bench: "cli", metric: `${s.name}, p50`, value: p50(s), unit: "ms", baseline });
    report({
      bench: "cli",
      metric: "quirectl run --wait, one step, p50",
      value: p50(run),
      unit: "ms",
      baseline: { name: "node -e 0 + PTY true", value: p50(bare) + p50(ptyTrue) },
    });
    if (process.platform === "linux") {
      const cpu = (s: Subject) => s.cpuMs / rounds;
      const cpuBaseline = { name: "node -e 0", value: cpu(bare) };
      for (const s of [version, status])
        report({ bench: "cli", metric: `${s.name}, CPU`, value: cpu(s), unit: "ms", baseline: cpuBaseline });
      report({
        bench: "cli",
        metric: "quirectl run --wait, one step, CPU",
        value: cpu(run),
        unit: "ms",
        baseline: { name: "node -e 0 + PTY true", value: cpu(bare) + cpu(ptyTrue) },
      });
      note("CPU: user + system time of the process itself, the mean of the rounds (the daemon's share of a run is not in it)");
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function subject(name: string, once: () => Promise<void>): Subject {
  return { name, once, wallMs: [], cpuMs: 0 };
}

async function measure(s: Subject): Promise<void> {
  const cpuBefore = childrenCpuMs();
  const start = performance.now();
  await s.once();
  s.wallMs.push(performance.now() - start);
  s.cpuMs += childrenCpuMs() - cpuBefore;
}

function p50(s: Subject): number {
  return percentile(
    [...s.wallMs].sort((a, b) => a - b),
    50,
  );
}

function exit0(file: string, args: string[], options: { env: NodeJS.ProcessEnv; cwd: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, options, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${args.join(" ")} failed: ${stderr || error.message}`));
      else resolve();
    });
  });
}

function barePtyTrue(): Promise<void> {
  return new Promise((resolve) => {
    const term = pty.spawn("true", [], {});
    term.onExit(() => resolve());
  });
}

const CLOCK_TICKS = process.platform === "linux" ? Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) : 100;

/** The CPU time of this process's children that have been waited for (Linux; 0 elsewhere). */
function childrenCpuMs(): number {
  if (process.platform !== "linux") return 0;
  const stat = readFileSync("/proc/self/stat", "utf8");
  // Fields after the command's name (which may hold spaces): state is field 3, cutime 16, cstime 17.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS;
}
