// npm run bench:peers [-- --json] [-- --rounds N]: quire beside the tools people would pick instead, the same
// workloads through each, whole processes from spawn to exit: gitlab-ci-local (shell executor), turbo (tasks
// in a tiny npm workspace) and wireit (npm scripts). Not part of npm test and never a dependency of quire: the
// peers are installed with npm into a temporary directory on each run (the registry must be reachable,
// nothing else is fetched; gitlab-ci-local also needs git and rsync). Each row is quire's time with the peer
// as the baseline, so a ratio above 1 means quire is slower.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { QUIRECTL } from "../../test/helpers/daemon.js";
import { heading, note, report } from "../lib/report.js";
import { startBenchDaemon } from "../lib/servers.js";
import { percentile } from "../lib/stats.js";

/** Pinned so that figures stay comparable; gitlab-ci-local 4.74 and later need Node 22 (Set.prototype.union). */
const PEERS = { "gitlab-ci-local": "4.73.0", turbo: "2.11.13", wireit: "0.14.13" } as const;

/** A workload as each tool writes it: `steps` trivial steps in one job, or a chain of `jobs` one-step jobs. */
interface Workload {
  name: string;
  steps: number;
  jobs: number;
}

const WORKLOADS: Workload[] = [
  { name: "one step `true`", steps: 1, jobs: 1 },
  { name: "100 trivial steps in one job", steps: 100, jobs: 1 },
  { name: "a chain of 100 one-step jobs", steps: 1, jobs: 100 },
];

/** One tool set up for one workload in its own directory: `once()` runs it and fails if it does not succeed. */
interface Subject {
  tool: string;
  once(): Promise<void>;
  wallMs: number[];
}

const roundsFlag = process.argv.indexOf("--rounds");
const rounds = roundsFlag >= 0 ? Number(process.argv[roundsFlag + 1]) : 3;

const root = mkdtempSync(join(tmpdir(), "quire-peers-"));
const daemon = await startBenchDaemon();
try {
  const installed = join(root, "peers");
  install(installed);
  note(
    `machine: ${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}, load average ${loadText()} at the start`,
  );
  note(
    `peers: ${Object.entries(PEERS)
      .map(([name, version]) => `${name} ${version}`)
      .join(", ")}; ${rounds} rounds, p50 of each`,
  );
  for (const workload of WORKLOADS) {
    heading(`peers: ${workload.name}`);
    const dir = (tool: string) => {
      const path = join(root, `${tool}-${workload.steps}x${workload.jobs}`);
      mkdirSync(path);
      return path;
    };
    const subjects = [
      quire(dir("quire"), workload, daemon.home),
      gitlabCiLocal(dir("gitlab-ci-local"), workload, installed),
      turbo(dir("turbo"), workload, installed),
      wireit(dir("wireit"), workload, installed),
    ];
    // Warm: quire's ci backend, npm's cache of its own modules, the disk cache of every file these load.
    for (const s of subjects) await s.once();
    for (let i = 0; i < rounds; i++) {
      for (const s of subjects) {
        const start = performance.now();
        await s.once();
        s.wallMs.push(performance.now() - start);
      }
    }
    const [ours, ...peers] = subjects as [Subject, ...Subject[]];
    for (const peer of peers) {
      report({
        bench: "peers",
        metric: `${workload.name} vs ${peer.tool}`,
        value: p50(ours),
        unit: "ms",
        baseline: { name: peer.tool, value: p50(peer) },
      });
    }
  }
  note(`load average ${loadText()} at the end`);
} finally {
  await daemon.stop();
  rmSync(root, { recursive: true, force: true });
}

function install(prefix: string): void {
  if (!hasCommand("rsync")) throw new Error("gitlab-ci-local copies the work tree with rsync: install rsync first");
  const specs = Object.entries(PEERS).map(([name, version]) => `${name}@${version}`);
  execFileSync("npm", ["install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error", ...specs], { stdio: "ignore" });
}

function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function loadText(): string {
  return loadavg()
    .map((n) => n.toFixed(1))
    .join(" ");
}

function p50(s: Subject): number {
  return percentile(
    [...s.wallMs].sort((a, b) => a - b),
    50,
  );
}

/** Job names in order, j001 to j100, each needing the one before it. */
function jobNames(workload: Workload): string[] {
  return Array.from({ length: workload.jobs }, (_, i) => `j${String(i + 1).padStart(3, "0")}`);
}

/** What a job runs for tools without steps: `true` as many times as there are steps, in one shell. */
function oneShell(workload: Workload): string {
  return Array.from({ length: workload.steps }, () => "true").join("; ");
}

function quire(dir: string, workload: Workload, home: string): Subject {
  const jobs = jobNames(workload).map((name, i, names) => {
    const needs = i > 0 ? `    needs: [${names[i - 1]}]\n` : "";
    const steps = Array.from({ length: workload.steps }, () => '      - "true"\n').join("");
    return `  ${name}:\n${needs}    steps:\n${steps}`;
  });
  writeFileSync(join(dir, "quire.yml"), `name: peers\njobs:\n${jobs.join("")}`);
  const env = { ...process.env, QUIRE_HOME: home, QUIRE_NO_AUTOSTART: "1" };
  // --no-cache: the job cache would serve every run after the first, running nothing; no peer caches here either.
  return subject("quire", () => exit0(process.execPath, [QUIRECTL, "run", "--wait", "--no-cache"], dir, env));
}

function gitlabCiLocal(dir: string, workload: Workload, installed: string): Subject {
  const jobs = jobNames(workload).map((name, i, names) => {
    const needs = i > 0 ? `  needs: [${names[i - 1]}]\n` : "";
    const script = Array.from({ length: workload.steps }, () => '    - "true"\n').join("");
    return `${name}:\n${needs}  script:\n${script}`;
  });
  writeFileSync(join(dir, ".gitlab-ci.yml"), jobs.join(""));
  // It reads the project's git data (and copies tracked files), so the directory is a repository with a commit.
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=bench", "-c", "user.email=bench@localhost", ...args], {
      cwd: dir,
      stdio: "ignore",
      env: { ...process.env, GIT_CONFIG_GLOBAL: "/dev/null", GIT_CONFIG_NOSYSTEM: "1" },
    });
  git("init", "-q");
  git("add", ".");
  git("commit", "-qm", "peers");
  const bin = join(installed, "node_modules", "gitlab-ci-local", "dist", "index.js");
  // Without its JSON schema check, which alone takes seconds here: the peer at its quickest.
  return subject("gitlab-ci-local", () => exit0(process.execPath, [bin, "--json-schema-validation=false"], dir, process.env));
}

function turbo(dir: string, workload: Workload, installed: string): Subject {
  const names = workload.jobs === 1 ? ["one"] : jobNames(workload);
  const npm = execFileSync("npm", ["--version"], { encoding: "utf8" }).trim();
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "peers", private: true, packageManager: `npm@${npm}`, workspaces: ["packages/*"] }),
  );
  mkdirSync(join(dir, "packages", "a"), { recursive: true });
  const scripts = Object.fromEntries(names.map((name) => [name, oneShell(workload)]));
  writeFileSync(join(dir, "packages", "a", "package.json"), JSON.stringify({ name: "a", version: "1.0.0", scripts }));
  const tasks = Object.fromEntries(names.map((name, i) => [name, { cache: false, dependsOn: i > 0 ? [names[i - 1]] : [] }]));
  writeFileSync(join(dir, "turbo.json"), JSON.stringify({ tasks }));
  const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1", DO_NOT_TRACK: "1", TURBO_NO_UPDATE_NOTIFIER: "1" };
  const bin = join(installed, "node_modules", ".bin", "turbo");
  return subject("turbo", () => exit0(bin, ["run", names.at(-1)!, "--no-daemon"], dir, env));
}

function wireit(dir: string, workload: Workload, installed: string): Subject {
  const names = workload.jobs === 1 ? ["one"] : jobNames(workload);
  const scripts = Object.fromEntries(names.map((name) => [name, "wireit"]));
  // No `files`: wireit cannot tell a script is fresh, so it runs every script every time (no cache, like the rest).
  const config = Object.fromEntries(
    names.map((name, i) => [name, { command: oneShell(workload), dependencies: i > 0 ? [names[i - 1]] : [] }]),
  );
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "peers", private: true, scripts, wireit: config }));
  symlinkSync(join(installed, "node_modules"), join(dir, "node_modules"));
  if (!existsSync(join(dir, "node_modules", ".bin", "wireit"))) throw new Error("wireit did not install");
  return subject("wireit", () => exit0("npm", ["run", names.at(-1)!], dir, process.env));
}

function subject(tool: string, once: () => Promise<void>): Subject {
  return { tool, once, wallMs: [] };
}

function exit0(file: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(" ")} in ${cwd} failed: ${stderr || stdout || error.message}`));
      else resolve();
    });
  });
}
