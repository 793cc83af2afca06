// What the caches save: a fixture project's node_modules restored from a dependency cache against a cold
// `npm ci` of the same project from a directory of local tarballs (no network: the packages are this
// repository's own dependencies that depend on nothing, packed the way npm packs them), and a second run
// of an unchanged tree through a warm daemon (every job cached) against the first run, which does the work.
// The second runs are measured twice: on the 10-package fixture, whose test step is a third of its first
// run, and on one of every such package, whose install is most of it (as the project's was).
import { execFile, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DependencyCaches } from "../src/ci/cache/dependency-caches.js";
import { CiClient } from "../src/client/ci.js";
import { heading, note, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";

const execFileAsync = promisify(execFile);

/** Packages of this repository's node_modules without dependencies of their own: an install needs nothing else. */
const PACKAGES = [
  "yaml",
  "tweetnacl",
  "@bufbuild/protobuf",
  "@xterm/headless",
  "@actions/expressions",
  "y18n",
  "escalade",
  "get-caller-file",
  "yargs-parser",
  "ansi-regex",
];
const NODE_MODULES = fileURLToPath(new URL("../../node_modules/", import.meta.url));

// npm offline, with nothing but the tarballs: no registry, no audit, no scripts, its own empty cache each time.
const NPM_FLAGS = ["--offline", "--no-audit", "--no-fund", "--ignore-scripts", "--no-update-notifier", "--loglevel=error"];

// git as the tests run it: none of this machine's or this user's configuration.
const GIT_ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@quire.invalid",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@quire.invalid",
};

/**
 * Every package of this repository's node_modules that depends on nothing, runs no install script and is
 * under 1 MiB (a bigger one only slows making the fixture): for a project whose install is most of its
 * first run, as the was (60-70 s of 85-98 s).
 */
function dependencyFreePackages(): string[] {
  const names: string[] = [];
  for (const entry of readdirSync(NODE_MODULES)) {
    if (entry.startsWith(".")) continue;
    const scoped = entry.startsWith("@") ? readdirSync(join(NODE_MODULES, entry)).map((name) => `${entry}/${name}`) : [entry];
    for (const name of scoped) {
      const dir = join(NODE_MODULES, name);
      let manifest: { dependencies?: object; optionalDependencies?: object; peerDependencies?: object; scripts?: Record<string, string> };
      try {
        manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      } catch {
        continue;
      }
      const depends = [manifest.dependencies, manifest.optionalDependencies, manifest.peerDependencies].some(
        (d) => d && Object.keys(d).length > 0,
      );
      const scripts = manifest.scripts ?? {};
      const builds = scripts.install || scripts.preinstall || scripts.postinstall || existsSync(join(dir, "binding.gyp"));
      if (!depends && !builds && treeSize(dir) < 1024 * 1024) names.push(name);
    }
  }
  return names.sort();
}

function treeSize(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .reduce((sum, e) => sum + statSync(join(e.parentPath, e.name)).size, 0);
}

/** A project (`dir/<name>`) depending on `packages`, each as `file:` a tarball in its own tarballs/, with its lock file. */
export function fixtureProject(dir: string, packages: readonly string[] = PACKAGES, name = "project"): string {
  const project = join(dir, name);
  const tarballs = join(project, "tarballs");
  mkdirSync(tarballs, { recursive: true });
  const dependencies: Record<string, string> = {};
  for (const name of packages) {
    const { version } = JSON.parse(readFileSync(join(NODE_MODULES, name, "package.json"), "utf8")) as { version: string };
    const staging = mkdtempSync(join(dir, "pack-"));
    cpSync(join(NODE_MODULES, name), join(staging, "package"), { recursive: true });
    const file = `${name.replace("@", "").replace("/", "-")}-${version}.tgz`;
    execFileSync("tar", ["-czf", join(tarballs, file), "-C", staging, "package"]);
    rmSync(staging, { recursive: true });
    dependencies[name] = `file:tarballs/${file}`;
  }
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "fixture", version: "1.0.0", private: true, dependencies }, null, 2));
  execFileSync("npm", ["install", ...NPM_FLAGS, "--cache", join(dir, "npm-cache-lock")], { cwd: project });
  rmSync(join(project, "node_modules"), { recursive: true });
  return project;
}

function countFiles(dir: string): number {
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
}

/** Writes back what earlier work left dirty, so that no timed part pays for another's writeback. */
export function settleDisk(): void {
  execFileSync("sync");
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** `npm ci` into a fresh copy of the project (an empty npm cache each time) vs restoring its node_modules from a dependency cache. */
async function restoreVsInstall(dir: string, rounds: number): Promise<void> {
  const project = fixtureProject(dir);
  const caches = new DependencyCaches(join(dir, "cache"));
  const request = { key: "deps", paths: ["node_modules"], restoreKeys: [] };
  const install: number[] = [];
  const restore: number[] = [];
  let files = 0;
  for (let i = 0; i < rounds; i++) {
    const cold = join(dir, `cold-${i}`);
    cpSync(project, cold, { recursive: true });
    settleDisk();
    let start = performance.now();
    await execFileAsync("npm", ["ci", ...NPM_FLAGS, "--cache", join(dir, `npm-cache-${i}`)], { cwd: cold });
    install.push(performance.now() - start);
    if (i === 0) {
      files = countFiles(join(cold, "node_modules"));
      await caches.save("/bench", request, cold, Date.now());
    }
    const warm = join(dir, `warm-${i}`);
    cpSync(project, warm, { recursive: true });
    settleDisk();
    start = performance.now();
    const restored = await caches.restore("/bench", request, warm);
    restore.push(performance.now() - start);
    if (restored.hit !== "exact") throw new Error(`bench cache restore found ${restored.hit}`);
  }
  report({
    bench: "cache",
    metric: `restore node_modules (${files} files)`,
    value: median(restore),
    unit: "ms",
    baseline: { name: "cold npm ci", value: median(install) },
  });
}

/** A small project's pipeline: install, then lint and test, which need it; install and lint name what they read. */
export const PIPELINE = `jobs:
  install:
    cache:
      - key: deps-\${{ hashFiles('package-lock.json') }}
        paths: [node_modules]
    inputs: [package.json, package-lock.json]
    outputs: [node_modules]
    steps:
      - npm ci ${NPM_FLAGS.join(" ")} --cache "$PWD/.npm-cache"
  lint:
    needs: [install]
    inputs: [lint.js]
    steps:
      - node lint.js
  test:
    needs: [install]
    steps:
      - node test.js
`;
// Stand-ins for a linter and a test suite: they read every source file and use the installed packages.
const LINT = `const fs = require("fs"), path = require("path");
let n = 0;
const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else if (p.endsWith(".js")) { new Function(fs.readFileSync(p, "utf8").replace(/^#!.*/, "").replace(/\\b(import|export)\\b/g, "void")); n++; } } };
try { walk("node_modules/yaml/dist"); } catch {}
console.log("linted", n, "files");
`;
const TEST = `const YAML = require("yaml");
const doc = { jobs: Object.fromEntries(Array.from({ length: 200 }, (_, i) => ["job" + i, { steps: ["make " + i], env: { N: String(i) } }])) };
for (let i = 0; i < 40; i++) if (YAML.parse(YAML.stringify(doc)).jobs.job7.env.N !== "7") throw new Error("mismatch");
console.log("40 round trips ok");
`;

/** A fixture project (made in `dir` by fixtureProject) as a git repository `dir/<name>` with `pipeline` as its quire.yml. */
export function fixtureRepo(dir: string, name: string, pipeline: string, project = "project"): string {
  const repo = join(dir, name);
  cpSync(join(dir, project), repo, { recursive: true });
  writeFileSync(join(repo, "quire.yml"), pipeline);
  writeFileSync(join(repo, "lint.js"), LINT);
  writeFileSync(join(repo, "test.js"), TEST);
  writeFileSync(join(repo, ".gitignore"), "node_modules/\n.npm-cache/\n");
  benchGit(repo, "init", "-q", "-b", "main");
  benchGit(repo, "add", "-A");
  benchGit(repo, "commit", "-q", "-m", "fixture");
  return repo;
}

/** git as the benches run it, in `cwd`. */
export function benchGit(cwd: string, ...args: string[]): void {
  execFileSync("git", args, { cwd, env: GIT_ENV });
}

/**
 * The first run of a tree does the work; the second, of the same tree, is served by the job cache; the
 * third, after a one-line change of the test's source (the same lock file), runs the test alone, with
 * install's node_modules put back from the job cache.
 */
async function secondRun(daemon: TestDaemon, repo: string, of = ""): Promise<void> {
  const ci = await CiClient.connect({ home: daemon.home, autostart: false });
  const text = readFileSync(join(repo, "quire.yml"), "utf8");
  try {
    const timed = async () => {
      settleDisk();
      const start = performance.now();
      const run = await ci.watch((await ci.submit(join(repo, "quire.yml"), text)).id, () => {});
      if (run.state !== "complete") throw new Error(`bench pipeline ended ${run.state}: ${run.failureSummary}`);
      const test = run.jobs.find((j) => j.name === "test")?.steps[0];
      // The test step on its own, as the daemon recorded it: the floor of a run that must run it.
      const testStepMs = test ? Number(test.finishedUnixMs) - Number(test.startedUnixMs) : 0;
      return { ms: performance.now() - start, cached: run.jobs.filter((j) => j.state === "cached").length, testStepMs };
    };
    const first = await timed();
    const second = await timed();
    writeFileSync(join(repo, "test.js"), TEST.replace("40 round trips ok", "40 round trips done"));
    const changed = await timed();
    if (first.cached !== 0 || second.cached !== 3)
      throw new Error(`bench expected 0 then 3 cached jobs, got ${first.cached} and ${second.cached}`);
    // install and lint should be cached (their inputs did not change); said, not thrown, so that the
    // figure of a run that installed again is seen for what it is.
    if (changed.cached !== 2) note(`after the one-line change ${changed.cached} of 3 jobs were cached, not 2: install ran again`);
    report({
      bench: "cache",
      metric: `second run of an unchanged tree${of}`,
      value: second.ms,
      unit: "ms",
      baseline: { name: "first run", value: first.ms },
    });
    report({
      bench: "cache",
      metric: `second run after a one-line source change, same lock file${of}`,
      value: changed.ms,
      unit: "ms",
      baseline: { name: "first run", value: first.ms },
    });
    // What of the third run no preparation can take away: the changed job's own step, against the same first run.
    report({
      bench: "cache",
      metric: `its test step alone (the floor of that run)${of}`,
      value: changed.testStepMs,
      unit: "ms",
      baseline: { name: "first run", value: first.ms },
    });
  } finally {
    ci.close();
  }
}

export async function benchCache(daemon: TestDaemon, quick: boolean): Promise<void> {
  heading("cache: dependency caches and the job cache");
  const dir = mkdtempSync(join(tmpdir(), "quire-bench-cache-"));
  try {
    await restoreVsInstall(dir, quick ? 1 : 3);
    await secondRun(daemon, fixtureRepo(dir, "repo", PIPELINE));
    // The same pipeline on a project whose install is most of its first run, as in the issue's.
    const many = dependencyFreePackages();
    fixtureProject(dir, many, "big-project");
    await secondRun(daemon, fixtureRepo(dir, "big-repo", PIPELINE, "big-project"), `, ${many.length} packages`);
    note(
      `node_modules of ${PACKAGES.length} packages from local tarballs (and of ${many.length}, where it says); the pipeline installs them, then lints and tests with them`,
    );
    note(
      "the second run still snapshots and checks out its tree; install's node_modules (its `outputs:`) stays in the cache, as no job that runs needs it",
    );
    note(
      "after the one-line change, install and lint are cached (their inputs: did not change) and test runs, on node_modules put back from the job cache",
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
