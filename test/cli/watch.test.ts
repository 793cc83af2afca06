// quirectl run --watch against a real daemon, with real file edits in a real repository: a run at once,
// a burst of 100 saves gives one run (of the last save), an editor's save (write a temp file, rename it
// over) gives one, a save while a run is live supersedes it, and what git ignores or keeps in .git/
// starts nothing. With --json each run is a JSON line as it ends; what the watch does goes to stderr.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { QUIRECTL, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { tempRepos } from "../helpers/git.js";

const PIPELINE =
  "name: watched\njobs:\n  check:\n    steps:\n      - name: look\n        run: |\n          cat data.txt\n          if test -e slow; then sleep 60; fi\n";

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
let watcher: ChildProcess | undefined;
let stdout = "";
let stderr = "";
before(async () => {
  daemon = await startTestDaemon();
  // A debounce long enough that a loaded machine cannot pause a burst of saves past it.
  writeFileSync(join(daemon.home, "config.yml"), "watch:\n  debounce: 1s\nnotify:\n  watch: false\n");
  repo = realpathSync(repos.make({ "quire.yml": PIPELINE, "data.txt": "start\n", ".gitignore": "build/\n*.log\n" }));
});
after(async () => {
  if (watcher && watcher.exitCode === null) {
    watcher.kill("SIGKILL");
    await new Promise((r) => watcher!.once("exit", r));
  }
  await daemon?.stop();
});

/** Waits for `done`, failing at once should the watch exit first. */
async function until(what: string, done: () => boolean): Promise<void> {
  await eventually(
    () => {
      if (watcher?.exitCode !== null && watcher?.exitCode !== undefined)
        throw new Error(`quirectl run --watch exited ${watcher.exitCode} before ${what}\nstderr:\n${stderr}`);
      return done();
    },
    () => `${what}\nstdout:\n${stdout}\nstderr:\n${stderr}`,
    60_000,
  );
}

/** The runs the watch has printed (each as it ended), in order. */
const ended = () =>
  stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line));
const submitted = () => [...stderr.matchAll(/^run (\d+) pending \((.*)\)$/gm)].map((m) => ({ id: Number(m[1]), why: m[2]! }));
const logOf = (run: any) => readFileSync(run.jobs[0].steps[0].log, "utf8");

test("run --watch: one run per quiet spell of saves, of the files as they were last saved; ignored files start nothing", async () => {
  watcher = spawn(process.execPath, [QUIRECTL, "--home", daemon.home, "run", "--watch", "--json"], {
    cwd: repo,
    env: { ...process.env, QUIRE_HOME: "", QUIRE_NO_AUTOSTART: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  watcher.stdout!.setEncoding("utf8").on("data", (t: string) => (stdout += t));
  watcher.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));

  await until("the first run to end", () => ended().length === 1);
  assert.deepEqual([ended()[0].state, ended()[0].trigger], ["complete", "watch"]);
  assert.match(stderr, /^watching .* for changes \(Ctrl-C stops\)$/m);
  assert.equal(submitted()[0]!.why, "started");

  // A burst of 100 saves: one run, of the last one.
  for (let i = 1; i <= 100; i++) writeFileSync(join(repo, "data.txt"), `save ${i}\n`);
  await until("the burst's run to end", () => ended().length === 2);
  assert.equal(submitted().length, 2, "one run for the burst");
  assert.equal(submitted()[1]!.why, "changed: data.txt");
  assert.match(logOf(ended()[1]), /save 100/);

  // An editor's save: a temp file beside it, renamed over it.
  writeFileSync(join(repo, ".data.txt.swp"), "renamed in\n");
  renameSync(join(repo, ".data.txt.swp"), join(repo, "data.txt"));
  await until("the rename's run to end", () => ended().length === 3);
  assert.equal(submitted().length, 3);
  assert.match(submitted()[2]!.why, /data\.txt/);
  assert.match(logOf(ended()[2]), /renamed in/);

  // What git ignores and what is in .git/ are not changes, even in the same spell as one that is.
  mkdirSync(join(repo, "build"), { recursive: true });
  writeFileSync(join(repo, "build", "out.bin"), "built\n");
  writeFileSync(join(repo, "debug.log"), "noise\n");
  writeFileSync(join(repo, ".git", "scratch"), "git's own\n");
  writeFileSync(join(repo, "data.txt"), "after the noise\n");
  await until("the next run to end", () => ended().length === 4);
  assert.equal(submitted()[3]!.why, "changed: data.txt");

  // A save while a run is live: the new run supersedes it, and only the newest is shown to its end.
  writeFileSync(join(repo, "slow"), "");
  await until("the slow run to start", () => submitted().length === 5);
  rmSync(join(repo, "slow"));
  writeFileSync(join(repo, "data.txt"), "the newest\n");
  await until("both to end", () => ended().length === 6);
  const [superseded, newest] = ended().slice(4);
  assert.equal(superseded.state, "superseded");
  assert.equal(superseded.superseded_by, newest.id);
  assert.equal(newest.state, "complete");
  assert.match(logOf(newest), /the newest/);

  watcher.kill("SIGINT");
  const code = await new Promise((r) => watcher!.once("exit", r));
  assert.equal(code, 0);
  assert.match(stderr, /stopped watching/);
});
