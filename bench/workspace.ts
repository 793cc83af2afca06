// A one-step run through the daemon in a 20,000-file repository vs a 16-file one, one file changed before
// each (the measure), and making a run's workspace alone (snapshot and checkout, as a submit
// does): the first workspace of a working copy (written whole) and the next ones (the previous run's
// workspace brought up to date). The goal is the next ones costing what changed, not the size of the tree.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CiClient } from "../src/client/ci.js";
import { WorkspacePreparer } from "../src/ci/runner/workspace-preparer.js";
import { ObjectStores } from "../src/ci/workspace/object-stores.js";
import { TreeWatchers } from "../src/ci/workspace/tree-watcher.js";
import { Workspaces } from "../src/ci/workspace/workspaces.js";
import { heading, note, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";
import { percentile } from "./lib/stats.js";

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, { cwd, stdio: "ignore", env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" } });

const ONE_STEP = 'jobs:\n  one:\n    steps:\n      - "true"\n';

// `files` files in directories of 100 and a one-step quire.yml, committed.
function makeRepo(dir: string, files: number): void {
  mkdirSync(dir);
  git(dir, "init", "-q", "-b", "main");
  writeFileSync(join(dir, "quire.yml"), ONE_STEP);
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `d${Math.floor(i / 100)}`);
    if (i % 100 === 0) mkdirSync(sub);
    writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`);
  }
  git(dir, "add", "-A");
  git(dir, "-c", "user.name=bench", "-c", "user.email=bench@quire.invalid", "commit", "-q", "-m", "files");
  git(dir, "status"); // refreshes the index's stat data, as a person's working copy has it
}

interface Timings {
  first: number;
  next: number;
}

// The median first workspace (a fresh home each round) and the median next one (a warm home, one file changed).
async function measure(base: string, repo: string, rounds: number): Promise<Timings> {
  const stage = async (preparer: WorkspacePreparer, workspaces: Workspaces, id: number) => {
    const start = performance.now();
    const staged = await preparer.checkOut(await preparer.snapshot(repo));
    const ms = performance.now() - start;
    staged.place(id);
    await workspaces.release(id, false);
    return ms;
  };
  const first: number[] = [];
  const next: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const home = mkdtempSync(join(base, "home-"));
    const stores = new ObjectStores(join(home, "git"));
    const workspaces = new Workspaces(join(home, "work"), { stores });
    const preparer = new WorkspacePreparer(workspaces, stores, [home], new TreeWatchers({ skip: [home] }));
    first.push(await stage(preparer, workspaces, 1));
    for (let run = 2; run <= 4; run++) {
      writeFileSync(join(repo, "d0", "f0.txt"), `changed ${round} ${run}\n`);
      next.push(await stage(preparer, workspaces, run));
    }
    preparer.close();
    rmSync(home, { recursive: true, force: true });
  }
  const median = (samples: number[]) =>
    percentile(
      [...samples].sort((a, b) => a - b),
      50,
    );
  return { first: median(first), next: median(next) };
}

// The median one-step run of each repository, one file changed before each run, the two taking turns
// (so that both see the machine alike). --no-cache: the step runs each time. A pause after each run lets
// its workspace become the next one's spare, as it would between two saves.
async function oneStepRuns(daemon: TestDaemon, repos: string[], rounds: number): Promise<number[]> {
  const ci = await CiClient.connect({ home: daemon.home, autostart: false });
  const times: number[][] = repos.map(() => []);
  try {
    for (let round = -1; round < rounds; round++) {
      for (const [i, repo] of repos.entries()) {
        writeFileSync(join(repo, "d0", "f0.txt"), `run ${round}\n`);
        const start = performance.now();
        const run = await ci.watch((await ci.submit(join(repo, "quire.yml"), ONE_STEP, { noCache: true })).id, () => {});
        const ms = performance.now() - start;
        if (run.state !== "complete") throw new Error(`bench run ended ${run.state}: ${run.failureSummary}`);
        // Round -1 makes each repository's first workspace, written whole.
        if (round >= 0) times[i]!.push(ms);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    }
  } finally {
    ci.close();
  }
  return times.map((samples) =>
    percentile(
      [...samples].sort((a, b) => a - b),
      50,
    ),
  );
}

export async function benchWorkspace(daemon: TestDaemon, quick: boolean): Promise<void> {
  heading("workspace: snapshot and checkout of a working copy, as a submit makes them");
  const base = mkdtempSync(join(tmpdir(), "quire-bench-workspace-"));
  try {
    const [big, small] = [join(base, "big"), join(base, "small")];
    makeRepo(big, 20_000);
    makeRepo(small, 16);
    const [bigRun, smallRun] = await oneStepRuns(daemon, [big, small], quick ? 4 : 15);
    report({
      bench: "workspace",
      metric: "one-step run, one file changed, 20,000 files",
      value: bigRun!,
      unit: "ms",
      baseline: { name: "16 files", value: smallRun! },
    });
    const rounds = quick ? 2 : 5;
    const large = await measure(base, big, rounds);
    const tiny = await measure(base, small, rounds);
    report({
      bench: "workspace",
      metric: "first workspace, 20,000 files",
      value: large.first,
      unit: "ms",
      baseline: { name: "16 files", value: tiny.first },
    });
    report({
      bench: "workspace",
      metric: "next workspace, 20,000 files",
      value: large.next,
      unit: "ms",
      baseline: { name: "16 files", value: tiny.next },
    });
    note("one-step run: submit to result through the daemon, `true` in the sandbox, --no-cache; the two repositories take turns; medians");
    note("next: the previous run's workspace taken over, one file changed in the working copy in between; medians");
  } finally {
    rmSync(base, { recursive: true, force: true });
    // The daemon's spares of the two repositories are now of working copies that are gone: removed here,
    // as a retention pass would, so that the next bench's runs do not share the disk with that removal.
    const ci = await CiClient.connect({ home: daemon.home, autostart: false });
    await ci.gc().finally(() => ci.close());
  }
}
