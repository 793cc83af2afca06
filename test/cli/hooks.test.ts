// quire's git hooks in real repositories, run by real `git commit` and `git push` (to a bare repository
// on disk): a hook never makes git wait (git commit returns while quired is frozen), the run is of exactly
// what was committed or pushed and records its trigger, a pre-push --wait refuses a push whose run fails,
// a workflow runs only for the pushes its on.push filters take, and the hooks coexist with what a
// repository has (a hook of its own, core.hooksPath, husky's and lefthook's files, written as they write
// them): uninstall leaves every file exactly as it was, bytes and modes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, test } from "node:test";
import { CiClient, type CiRun } from "../../src/client/ci.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { git, gitEnv, tempRepos, writeFiles } from "../helpers/git.js";
import { quirectl } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let ci: CiClient;
before(async () => {
  daemon = await startTestDaemon();
  ci = await CiClient.connect({ home: daemon.home, autostart: false });
});
after(async () => {
  ci?.close();
  await daemon?.stop();
});

const PASSING = "name: checks\njobs:\n  check:\n    steps:\n      - name: look\n        run: cat data.txt\n";
const FAILING =
  "name: checks\njobs:\n  check:\n    steps:\n      - name: look\n        run: |\n          cat data.txt\n          echo 'the check failed here' && exit 4\n";

const repo = (files: Record<string, string>) => repos.make(files);

/** Runs git in `dir` as a person would (its hooks run), without blocking the test's event loop. */
function gitAsync(
  dir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn("git", args, {
      cwd: dir,
      env: { ...process.env, ...gitEnv, QUIRE_NO_AUTOSTART: "1", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (stdout += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
    child.once("exit", (code) => resolve({ code, stdout, stderr, ms: performance.now() - started }));
  });
}

async function commit(dir: string, files: Record<string, string>, env: Record<string, string> = {}) {
  writeFiles(dir, files);
  git(dir, "add", ...Object.keys(files));
  const result = await gitAsync(dir, ["commit", "-q", "-m", `change ${Object.keys(files).join(" ")}`], env);
  assert.equal(result.code, 0, result.stderr);
  return result;
}

async function install(dir: string, ...args: string[]) {
  const r = await quirectl(daemon.home, ["hook", "install", ...args], { cwd: dir });
  assert.equal(r.code, 0, `hook install ${args.join(" ")}: ${r.stderr}`);
  return r;
}

async function uninstall(dir: string) {
  const r = await quirectl(daemon.home, ["hook", "uninstall"], { cwd: dir });
  assert.equal(r.code, 0, r.stderr);
  return r;
}

const hooksLog = () => (existsSync(join(daemon.home, "hooks.log")) ? readFileSync(join(daemon.home, "hooks.log"), "utf8") : "");

/** The runs of `dir`'s repository, newest first. */
async function runsOf(dir: string): Promise<CiRun[]> {
  return (await ci.list(200)).filter((run) => run.repo === dir);
}

/** Waits until the repository has `count` runs, and returns them newest first. */
async function awaitRuns(dir: string, count: number): Promise<CiRun[]> {
  return eventually(
    async () => {
      const runs = await runsOf(dir);
      return runs.length >= count && runs;
    },
    () => `${dir} to have ${count} runs; hooks.log:\n${hooksLog()}`,
    30_000,
  );
}

/** Waits until the hooks log says `pattern`. */
async function awaitLog(pattern: RegExp): Promise<void> {
  await eventually(
    () => pattern.test(hooksLog()),
    () => `hooks.log to say ${pattern}:\n${hooksLog()}`,
    30_000,
  );
}

const ended = (run: CiRun) => ci.watch(run.id, () => {});

/** Every file under `dir` with its bytes and mode: what "exactly as it was" compares. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dir)) return out;
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      const mode = statSync(path).mode.toString(8);
      if (entry.isDirectory()) {
        out[`${relative(dir, path)}/`] = mode;
        walk(path);
      } else out[relative(dir, path)] = `${mode} ${readFileSync(path).toString("base64")}`;
    }
  };
  walk(dir);
  return out;
}

describe("post-commit", () => {
  test("git commit returns at once, even with quired frozen; the run is of exactly the commit, recorded with its trigger", async (t) => {
    const dir = repo({ "quire.yml": PASSING, "data.txt": "committed 1\n" });
    const hooks = join(dir, ".git", "hooks");
    const before = snapshot(hooks);
    const installed = await install(dir, "--post-commit");
    assert.match(installed.stdout, /post-commit: installed in .*\.git\/hooks/);

    // Uncommitted changes stay out of the run: it is of the commit, not of the working copy.
    const made = await commit(dir, { "data.txt": "committed 2\n" });
    const returned = Date.now();
    writeFileSync(join(dir, "data.txt"), "not committed\n");
    const [run] = await awaitRuns(dir, 1);
    const recordedAfterMs = Number(run!.createdUnixMs) - returned;
    assert.deepEqual([run!.trigger, run!.ref, run!.commit, run!.dirty], ["post-commit", "main", git(dir, "rev-parse", "HEAD"), false]);
    assert.equal(run!.tree, git(dir, "rev-parse", "HEAD^{tree}"));
    const done = await ended(run!);
    assert.equal(done.state, "complete");
    const log = readFileSync(done.jobs[0]!.steps[0]!.log, "utf8");
    assert.match(log, /committed 2/);
    t.diagnostic(`git commit with the hook took ${made.ms.toFixed(0)} ms; the run was recorded ${recordedAfterMs} ms after it returned`);

    // The hook never waits for quired: frozen, git commit still returns (exit 0), and the run comes once it thaws.
    daemon.process.kill("SIGSTOP");
    let frozen: Awaited<ReturnType<typeof commit>>;
    try {
      frozen = await commit(dir, { "other.txt": "x\n" });
    } finally {
      daemon.process.kill("SIGCONT");
    }
    t.diagnostic(`git commit with quired frozen took ${frozen.ms.toFixed(0)} ms`);
    const [second] = await awaitRuns(dir, 2);
    assert.equal(second!.commit, git(dir, "rev-parse", "HEAD"));
    assert.match(hooksLog(), new RegExp(`post-commit: run ${second!.id} `));

    await uninstall(dir);
    assert.deepEqual(snapshot(hooks), before, "the hooks directory is exactly as it was");
    await ended(second!);
  });

  test("a hook the repository has is run first, with its $0 and arguments, and is back byte for byte after uninstall", async () => {
    const dir = repo({ "quire.yml": PASSING, "data.txt": "1\n" });
    const marker = join(dir, ".git", "user-hook-ran");
    const own = join(dir, ".git", "hooks", "post-commit");
    writeFileSync(own, `#!/bin/sh\n# the repository's own hook\necho "ran as $0" > '${marker}'\n`);
    chmodSync(own, 0o750);
    const before = snapshot(join(dir, ".git", "hooks"));
    const r = await install(dir, "--post-commit");
    assert.match(r.stdout, /running the hook that was there \(post-commit\.quire-chained\) first/);
    await commit(dir, { "data.txt": "2\n" });
    assert.match(readFileSync(marker, "utf8"), /^ran as .*hooks\/post-commit\n$/, "it ran under its own name");
    const [run] = await awaitRuns(dir, 1);
    assert.equal(run!.trigger, "post-commit");
    // Installing again rewrites quire's script and keeps the chained hook.
    await install(dir, "--post-commit");
    await uninstall(dir);
    assert.deepEqual(snapshot(join(dir, ".git", "hooks")), before);
    assert.equal(statSync(own).mode & 0o777, 0o750);
    await ended(run!);
  });

  test("husky (core.hooksPath .husky/_): its hook still runs the repository's .husky/post-commit; nothing shows in git status", async () => {
    const marker = join(repos.dir("husky"), "ran");
    // What husky 9 writes: .husky/_/ with its h script, one two-line script per hook, and a .gitignore of *.
    const husky = '#!/usr/bin/env sh\n. "${0%/*}/h"\n';
    const h = [
      "#!/usr/bin/env sh",
      '[ "$HUSKY" = "2" ] && set -x',
      'n=$(basename "$0")',
      's=$(dirname "$(dirname "$0")")/$n',
      "",
      '[ ! -f "$s" ] && exit 0',
      "",
      '[ "${HUSKY-}" = "0" ] && exit 0',
      "",
      'export PATH="node_modules/.bin:$PATH"',
      'sh -e "$s" "$@"',
      "c=$?",
      "",
      '[ $c != 0 ] && echo "husky - $n script failed (code $c)"',
      '[ $c = 127 ] && echo "husky - command not found in PATH=$PATH"',
      "exit $c",
      "",
    ].join("\n");
    const dir = repo({ "quire.yml": PASSING, "data.txt": "1\n", ".husky/post-commit": `echo husky > '${marker}'\n` });
    writeFiles(dir, { ".husky/_/h": h, ".husky/_/post-commit": husky, ".husky/_/pre-commit": husky, ".husky/_/.gitignore": "*\n" });
    for (const name of ["h", "post-commit", "pre-commit"]) chmodSync(join(dir, ".husky", "_", name), 0o755);
    git(dir, "config", "core.hooksPath", ".husky/_");
    const before = snapshot(join(dir, ".husky"));
    const exclude = readFileSync(join(dir, ".git", "info", "exclude"));

    await install(dir, "--post-commit");
    assert.equal(git(dir, "status", "--porcelain"), "", "husky's _ ignores itself: nothing to exclude");
    await commit(dir, { "data.txt": "2\n" });
    assert.equal(readFileSync(marker, "utf8"), "husky\n", "husky ran .husky/post-commit");
    const [run] = await awaitRuns(dir, 1);
    assert.deepEqual([run!.trigger, run!.dirty], ["post-commit", false]);
    await uninstall(dir);
    assert.deepEqual(snapshot(join(dir, ".husky")), before);
    assert.deepEqual(readFileSync(join(dir, ".git", "info", "exclude")), exclude);
    await ended(run!);
  });

  test("lefthook (lefthook.yml, its script in .git/hooks): its script runs first and comes back as it was", async () => {
    const dir = repo({
      "quire.yml": PASSING,
      "data.txt": "1\n",
      "lefthook.yml": "post-commit:\n  commands:\n    hello:\n      run: echo hello\n",
    });
    // What `lefthook install` writes for a hook lefthook.yml names (lefthook itself is not installed here,
    // so its script says so: that line in git's output shows it ran).
    const script = [
      "#!/bin/sh",
      "",
      'if [ "$LEFTHOOK_VERBOSE" = "1" -o "$LEFTHOOK_VERBOSE" = "true" ]; then',
      "  set -x",
      "fi",
      "",
      'if [ "$LEFTHOOK" = "0" ]; then',
      "  exit 0",
      "fi",
      "",
      "call_lefthook()",
      "{",
      '  if test -n "$LEFTHOOK_BIN"',
      "  then",
      '    "$LEFTHOOK_BIN" "$@"',
      "  elif lefthook -h >/dev/null 2>&1",
      "  then",
      '    lefthook "$@"',
      "  else",
      '    dir="$(git rev-parse --show-toplevel)"',
      "    osArch=$(uname | tr '[:upper:]' '[:lower:]')",
      "    cpuArch=$(uname -m | sed 's/aarch64/arm64/;s/x86_64/x64/')",
      '    if test -f "$dir/node_modules/lefthook-${osArch}-${cpuArch}/bin/lefthook"',
      "    then",
      '      "$dir/node_modules/lefthook-${osArch}-${cpuArch}/bin/lefthook" "$@"',
      "    else",
      '      echo "Can\'t find lefthook in PATH"',
      "    fi",
      "  fi",
      "}",
      "",
      'call_lefthook run "post-commit" "$@"',
      "",
    ].join("\n");
    const hook = join(dir, ".git", "hooks", "post-commit");
    writeFileSync(hook, script);
    chmodSync(hook, 0o755);
    const before = snapshot(join(dir, ".git", "hooks"));
    await install(dir, "--post-commit");
    const made = await commit(dir, { "data.txt": "2\n" });
    assert.match(made.stdout + made.stderr, /Can't find lefthook in PATH/);
    const [run] = await awaitRuns(dir, 1);
    assert.equal(run!.trigger, "post-commit");
    await uninstall(dir);
    assert.deepEqual(snapshot(join(dir, ".git", "hooks")), before);
    await ended(run!);
  });

  test("core.hooksPath inside the work tree: quire's files stay out of git status; a hook git tracks is never changed", async () => {
    const dir = repo({ "quire.yml": PASSING, "data.txt": "1\n", ".githooks/pre-commit": "#!/bin/sh\nexit 0\n" });
    git(dir, "config", "core.hooksPath", ".githooks");
    const exclude = join(dir, ".git", "info", "exclude");
    writeFileSync(exclude, "# the person's own\n*.log"); // no line break at the end
    const before = { hooks: snapshot(join(dir, ".githooks")), exclude: readFileSync(exclude) };
    await install(dir, "--post-commit");
    assert.ok(existsSync(join(dir, ".githooks", "post-commit")));
    assert.equal(git(dir, "status", "--porcelain"), "");
    await commit(dir, { "data.txt": "2\n" });
    const [run] = await awaitRuns(dir, 1);
    assert.equal(run!.dirty, false);
    await uninstall(dir);
    assert.deepEqual({ hooks: snapshot(join(dir, ".githooks")), exclude: readFileSync(exclude) }, before);

    writeFiles(dir, { ".githooks/post-commit": "#!/bin/sh\necho mine\n" });
    git(dir, "add", ".githooks/post-commit");
    git(dir, "commit", "-q", "--no-verify", "-m", "a tracked post-commit");
    const refused = await quirectl(daemon.home, ["hook", "install", "--post-commit"], { cwd: dir });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /\.githooks\/post-commit is tracked by git, so quire will not change it; .*add this line to it/);
    assert.match(refused.stderr, /hook run post-commit/);
    assert.equal(git(dir, "status", "--porcelain"), "");
    await ended(run!);
  });
});

describe("pre-push", () => {
  function bare(): string {
    const dir = repos.dir("remote");
    git(dir, "init", "-q", "--bare", "-b", "main");
    return dir;
  }

  test("with --wait a failing run refuses the push, printing the failure; a passing one lets it through", async () => {
    const dir = repo({ "quire.yml": FAILING, "data.txt": "1\n" });
    const remote = bare();
    git(dir, "remote", "add", "origin", remote);
    await install(dir, "--pre-push", "--wait");
    const refused = await gitAsync(dir, ["push", "-q", "origin", "main"]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stdout + refused.stderr, /the check failed here/);
    assert.match(refused.stderr, /the push is refused/);
    assert.equal(git(remote, "branch", "--list"), "", "nothing reached the remote");
    const [failed] = await runsOf(dir);
    assert.deepEqual([failed!.state, failed!.trigger, failed!.commit], ["failed", "pre-push", git(dir, "rev-parse", "HEAD")]);

    await commit(dir, { "quire.yml": PASSING });
    const pushed = await gitAsync(dir, ["push", "-q", "origin", "main"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.equal(git(remote, "rev-parse", "main"), git(dir, "rev-parse", "HEAD"));
    const [passed] = await runsOf(dir);
    assert.deepEqual([passed!.state, passed!.trigger, passed!.ref], ["complete", "pre-push", "main"]);
    await uninstall(dir);
  });

  test("without --wait the push goes at once, and the pushed commit runs in the background", async () => {
    const dir = repo({ "quire.yml": PASSING, "data.txt": "1\n" });
    const remote = bare();
    git(dir, "remote", "add", "origin", remote);
    await install(dir, "--pre-push");
    git(dir, "checkout", "-q", "-b", "topic");
    await commit(dir, { "data.txt": "topic\n" });
    writeFileSync(join(dir, "data.txt"), "not pushed\n");
    const pushed = await gitAsync(dir, ["push", "-q", "origin", "topic:review/topic"]);
    assert.equal(pushed.code, 0, pushed.stderr);
    const [run] = await awaitRuns(dir, 1);
    assert.deepEqual([run!.trigger, run!.ref, run!.commit, run!.dirty], ["pre-push", "review/topic", git(dir, "rev-parse", "HEAD"), false]);
    const done = await ended(run!);
    assert.match(readFileSync(done.jobs[0]!.steps[0]!.log, "utf8"), /topic/);
    await uninstall(dir);
  });
});

describe("GitHub workflows", () => {
  test("a commit runs each workflow whose on.push filters take it, and the hooks log says why the others did not run", async () => {
    const workflow = (on: string) => `on:\n${on}\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo checked\n`;
    const dir = repo({
      ".github/workflows/main-only.yml": workflow("  push:\n    branches: [main]"),
      ".github/workflows/docs.yml": workflow("  push:\n    paths: ['docs/**']"),
      "src/app.txt": "1\n",
    });
    await install(dir, "--post-commit");
    await commit(dir, { "src/app.txt": "2\n" });
    const [first] = await awaitRuns(dir, 1);
    assert.equal(first!.pipelineFile, join(dir, ".github", "workflows", "main-only.yml"));
    await ended(first!);
    git(dir, "checkout", "-q", "-b", "feature");
    await commit(dir, { "docs/guide.md": "read me\n" });
    const [second] = await awaitRuns(dir, 2);
    assert.equal(second!.pipelineFile, join(dir, ".github", "workflows", "docs.yml"));
    assert.equal(second!.ref, "feature");
    await ended(second!);
    await awaitLog(/\.github\/workflows\/docs\.yml not run for main: on\.push's paths take none of the 1 changed file/);
    await awaitLog(/\.github\/workflows\/main-only\.yml not run for feature: on\.push's branches do not take branch feature/);
    assert.equal((await runsOf(dir)).length, 2);
    await uninstall(dir);
  });
});
