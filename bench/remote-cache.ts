// What the remote job cache saves another machine: the fixture project's pipeline (install from local
// tarballs, lint, test) run on machine A, which does the work and uploads each job's result to the real
// turborepo-remote-cache server on loopback, against the same pipeline on machine B (a home of its own, a
// clone of its own), where every job is served from what A uploaded: downloaded, checked, kept, cached.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CiClient } from "../src/client/ci.js";
import { startTestDaemon, tempHome, type TestDaemon } from "../test/helpers/daemon.js";
import { startRemoteCacheServer } from "../test/helpers/remote-cache-server.js";
import { benchGit, fixtureProject, fixtureRepo, PIPELINE, settleDisk } from "./cache.js";
import { heading, note, report } from "./lib/report.js";

const TOKEN = "quire-bench-token";
const TEAM = "bench";

async function timedRun(daemon: TestDaemon, repo: string): Promise<{ ms: number; cached: number }> {
  const ci = await CiClient.connect({ home: daemon.home, autostart: false });
  try {
    const file = join(repo, "quire.yml");
    settleDisk();
    const start = performance.now();
    const run = await ci.watch((await ci.submit(file, readFileSync(file, "utf8"))).id, () => {});
    if (run.state !== "complete") throw new Error(`bench pipeline ended ${run.state}: ${run.failureSummary}`);
    return { ms: performance.now() - start, cached: run.jobs.filter((j) => j.state === "cached").length };
  } finally {
    ci.close();
  }
}

async function machine(url: string, name: string): Promise<TestDaemon> {
  const home = tempHome();
  writeFileSync(join(home, "config.yml"), `cache:\n  remote-url: ${url}\n  remote-team: ${TEAM}\n  remote-token: TURBO_TOKEN\n`);
  const daemon = await startTestDaemon([], home, { MACHINE: name });
  const ci = await CiClient.connect({ home, autostart: false });
  try {
    await ci.setSecret("TURBO_TOKEN", TOKEN);
  } finally {
    ci.close();
  }
  return daemon;
}

export async function benchRemoteCache(): Promise<void> {
  heading("remote-cache: the job cache shared through a Turborepo remote cache server");
  const dir = mkdtempSync(join(tmpdir(), "quire-bench-remote-"));
  const server = await startRemoteCacheServer(TOKEN);
  const daemons: TestDaemon[] = [];
  try {
    fixtureProject(dir);
    const repo = fixtureRepo(dir, "repo", PIPELINE);
    const clone = join(dir, "clone");
    benchGit(dir, "clone", "-q", repo, clone);
    daemons.push(await machine(server.url, "A"), await machine(server.url, "B"));
    const [a, b] = daemons as [TestDaemon, TestDaemon];
    const first = await timedRun(a, repo);
    const other = await timedRun(b, clone);
    if (first.cached !== 0 || other.cached !== 3)
      throw new Error(`bench expected 0 then 3 cached jobs, got ${first.cached} and ${other.cached}`);
    report({
      bench: "remote-cache",
      metric: "another machine's run, from the server",
      value: other.ms,
      unit: "ms",
      baseline: { name: "first run (the work, and its uploads)", value: first.ms },
    });
    const stored = join(server.storage, TEAM);
    const bytes = readdirSync(stored).reduce((sum, name) => sum + statSync(join(stored, name)).size, 0);
    note(`${readdirSync(stored).length} artifacts, ${(bytes / 1024).toFixed(0)} KiB in all (install's holds node_modules, its outputs:)`);
  } finally {
    await Promise.all(daemons.map((d) => d.stop()));
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
