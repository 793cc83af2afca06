// Snapshots that look only at what a watcher saw change are the snapshots a full stat takes: after each
// kind of change (content, added, deleted, renamed, chmod, a directory made or moved, an ignore rule, the
// person's index), after changes made while no watcher ran (a new daemon), and with changes racing the
// snapshot. Each watched snapshot's tree is compared with one taken by the full `git add -A` at the same
// moment.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { followLog } from "../../../src/ci/output/log-file.js";
import { TreeWatcher } from "../../../src/ci/workspace/tree-watcher.js";
import { git, tempRepos, writeFiles } from "../../helpers/git.js";
import { watchedSnapshots } from "../../helpers/watched-snapshots.js";

const repos = tempRepos();
const { watchers, watchedTree, fullTree } = watchedSnapshots(repos);

function writeOld(root: string, made: Record<string, string>): void {
  writeFiles(root, made);
  const old = Date.now() / 1000 - 3600;
  for (const path of Object.keys(made)) utimesSync(join(root, path), old, old);
}

// git trusts the fsmonitor's word on tracked files only in an index big enough to be read by two threads
// (1,000 entries): the tests' repositories are that big.
function files(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`d${i % 4}/f${i}.txt`, `file ${i}\n`]));
}

test("each kind of change is in the next watched snapshot, as the full stat sees it", async () => {
  const repo = repos.make({ ...files(1200), ".gitignore": "build/\n*.log\n", "bin/run.sh": "echo hi\n" });
  const by = watchers();
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  const changes: [string, () => void][] = [
    ["content", () => writeFileSync(join(repo, "d0/f0.txt"), "changed\n")],
    ["same size and second", () => writeFileSync(join(repo, "d0/f0.txt"), "chang3d\n")],
    ["added", () => writeOld(repo, { "d1/new.txt": "new\n" })],
    ["deleted", () => rmSync(join(repo, "d2/f2.txt"))],
    ["renamed", () => renameSync(join(repo, "d3/f3.txt"), join(repo, "d3/g3.txt"))],
    ["chmod", () => chmodSync(join(repo, "bin/run.sh"), 0o755)],
    // Stamped an hour ago: git then trusts their stat data (no "racy" second look at files as new as the
    // index), as it does for most files, so only the watcher's report makes it look at them again.
    ["a directory made with files", () => writeOld(repo, { "fresh/deep/er/a.txt": "a\n", "fresh/b.txt": "b\n" })],
    ["a directory moved", () => renameSync(join(repo, "fresh"), join(repo, "moved"))],
    ["a file in the moved directory", () => writeFileSync(join(repo, "moved/deep/er/a.txt"), "a again\n")],
    ["a directory removed", () => rmSync(join(repo, "d1"), { recursive: true })],
    ["an ignored file", () => writeFiles(repo, { "build/out.js": "x\n", "x.log": "log\n" })],
    ["an ignore rule dropped", () => writeFileSync(join(repo, ".gitignore"), "build/\n")],
    ["an ignore rule added", () => writeFileSync(join(repo, ".gitignore"), "build/\n*.log\nmoved/\n")],
    ["a file staged", () => git(repo, "add", "d3/g3.txt")],
    ["a commit", () => git(repo, "commit", "-q", "-m", "some of it")],
    [
      "a file made executable again, then back",
      () => {
        chmodSync(join(repo, "bin/run.sh"), 0o644);
        chmodSync(join(repo, "bin/run.sh"), 0o755);
      },
    ],
    ["a file taken out of the index, kept in the working copy", () => git(repo, "rm", "-q", "--cached", "d0/f4.txt")],
    ["a symlink", () => symlinkSync("d0/f0.txt", join(repo, "link"))],
    [
      "a symlink pointed elsewhere",
      () => {
        rmSync(join(repo, "link"));
        symlinkSync("bin/run.sh", join(repo, "link"));
      },
    ],
    ["an untracked directory", () => writeFiles(repo, { "scratch/notes.txt": "notes\n" })],
    ["info/exclude", () => writeFileSync(join(repo, ".git/info/exclude"), "scratch/\n")],
  ];
  for (const [what, change] of changes) {
    change();
    const watched = await watchedTree(repo, by);
    assert.equal(watched, await fullTree(repo), `after: ${what}`);
    // And again with nothing changed in between.
    assert.equal(await watchedTree(repo, by), watched, `again after: ${what}`);
  }
});

test("a file the index holds though the ignore rules match it is there again when made again after a delete", async () => {
  const repo = repos.make({ ...files(1200), ".gitignore": "*.gen\n" });
  writeFileSync(join(repo, "kept.gen"), "forced\n");
  git(repo, "add", "-f", "kept.gen");
  git(repo, "commit", "-q", "-m", "a generated file, forced");
  const by = watchers();
  await watchedTree(repo, by);
  rmSync(join(repo, "kept.gen"));
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  writeFileSync(join(repo, "kept.gen"), "made again\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
});

test("changes made while no watcher ran (a daemon restarted) are in the first snapshot after", async () => {
  const repo = repos.make(files(1200));
  const first = watchers();
  await watchedTree(repo, first);
  first.close();
  writeFileSync(join(repo, "d0/f0.txt"), "while stopped\n");
  rmSync(join(repo, "d1/f1.txt"));
  writeFiles(repo, { "d2/late.txt": "late\n" });
  const next = watchers();
  assert.equal(await watchedTree(repo, next), await fullTree(repo));
});

test("a change racing the snapshot is in it or in the next one, never lost", async () => {
  const repo = repos.make(files(1200));
  const by = watchers();
  await watchedTree(repo, by);
  for (let round = 0; round < 20; round++) {
    // Right before the call (no turn of the event loop for the watcher), and while it runs.
    writeFileSync(join(repo, "d0/f0.txt"), `before ${round}\n`);
    const taking = watchedTree(repo, by);
    writeFileSync(join(repo, `d${round % 4}/f${4 + round}.txt`), `during ${round}\n`);
    await taking;
    assert.equal(await watchedTree(repo, by), await fullTree(repo), `round ${round}`);
  }
});

test("a watcher that cannot watch the whole tree answers everything, and the snapshot stats every file", async () => {
  const repo = repos.make(files(20));
  const small = new TreeWatcher(repo, { maxDirectories: 2 });
  assert.equal(small.working, false);
  assert.equal((await small.changesSince(undefined)).paths, null);
  small.close();
  const none = watchers({ maxDirectories: 2 });
  assert.equal(none.of(repo), undefined);
  writeFileSync(join(repo, "d0/f0.txt"), "changed\n");
  assert.equal(await watchedTree(repo, none), await fullTree(repo));
});

test("a watcher reports what changed since a token and nothing older; another watcher's token means everything", async () => {
  const repo = repos.make(files(8));
  const watcher = new TreeWatcher(repo);
  const other = new TreeWatcher(repo);
  try {
    const start = await watcher.changesSince(undefined);
    assert.equal(start.paths, null);
    writeFileSync(join(repo, "d0/f0.txt"), "one\n");
    mkdirSync(join(repo, "made"));
    const one = await watcher.changesSince(start.now);
    assert.ok(one.paths?.includes("d0/f0.txt"), String(one.paths));
    assert.ok(one.paths?.includes("made/"), String(one.paths));
    writeFileSync(join(repo, "made/inside.txt"), "two\n");
    const two = await watcher.changesSince(one.now);
    assert.ok(two.paths?.includes("made/inside.txt"), String(two.paths));
    assert.ok(!two.paths?.includes("d0/f0.txt"), String(two.paths));
    assert.equal((await other.changesSince(two.now)).paths, null);
  } finally {
    watcher.close();
    other.close();
  }
});

// The kernel drops events when its inotify queue is full, and Node never says so: a turn of the event
// loop that brings as many events as the queue could hold is taken for one that lost some.
test("a burst of events as big as the kernel's queue breaks every watcher, which then answers everything", async () => {
  const repo = repos.make(files(8));
  const quiet = new TreeWatcher(repo, { overflowBurst: 1_000 });
  const start = await quiet.changesSince(undefined);
  // Written in one turn: the poll phase after it reads all their events at once.
  for (let i = 0; i < 150; i++) writeFileSync(join(repo, `d${i % 4}/burst${i}.txt`), "x\n");
  const seen = await quiet.changesSince(start.now);
  assert.equal(
    seen.paths?.filter((path) => path.includes("burst") && !path.endsWith("/")).length,
    150,
    "under the limit every change is reported",
  );
  quiet.close();

  const watcher = new TreeWatcher(repo, { overflowBurst: 100 });
  // Another tree, where nothing happens: the burst elsewhere fills the queue its events would go to.
  const bystander = new TreeWatcher(repos.make(files(8)), { overflowBurst: 100 });
  try {
    const before = await watcher.changesSince(undefined);
    const alsoBefore = await bystander.changesSince(undefined);
    for (let i = 0; i < 150; i++) writeFileSync(join(repo, `d${i % 4}/burst${i}.txt`), "y\n");
    assert.equal((await watcher.changesSince(before.now)).paths, null);
    assert.equal(watcher.working, false);
    assert.equal((await bystander.changesSince(alsoBefore.now)).paths, null, "the watchers share one inotify queue");
  } finally {
    watcher.close();
    bystander.close();
  }
});

// Nothing above the root is watched: a root moved away or removed and then made again at the same path
// (a fresh clone) would be silent, its watches left on the old inodes.
test("a work tree moved away or removed and cloned again at the same path is snapshotted as it now is", async () => {
  for (const replace of ["moved away", "removed"]) {
    const origin = repos.make({ ...files(1200), "package.json": '{"v":1}\n' });
    // In a directory of its own, removed with the others, as what is moved away beside it is.
    const repo = join(repos.dir("clone"), "repo");
    git(repos.dir("."), "clone", "-q", origin, repo);
    const by = watchers();
    assert.equal(await watchedTree(repo, by), await fullTree(repo));
    if (replace === "moved away") renameSync(repo, `${repo}.old`);
    else rmSync(repo, { recursive: true, force: true });
    git(repos.dir("."), "clone", "-q", origin, repo);
    assert.equal(await watchedTree(repo, by), await fullTree(repo), `${replace}: the fresh clone`);
    // Stamped an hour ago, as in the first test: only the watcher's report makes git look at them again.
    for (const [path, content] of [
      ["package.json", '{"v":2}\n'],
      ["d0/f0.txt", "edited\n"],
    ]) {
      writeOld(repo, { [path!]: content! });
      assert.equal(await watchedTree(repo, by), await fullTree(repo), `${replace}: ${path} edited in the fresh clone`);
    }
  }
});

test("a burst of events a log follower sees breaks the tree watchers too: they share one inotify queue", async () => {
  const repo = repos.make(files(8));
  const logs = repos.dir("burst-logs");
  const log = join(logs, "step.log");
  writeFileSync(log, "");
  const watcher = new TreeWatcher(repo, { overflowBurst: 100 });
  const stop = new AbortController();
  const following = followLog(
    log,
    () => {},
    () => true,
    stop.signal,
  );
  try {
    const before = await watcher.changesSince(undefined);
    for (let i = 0; i < 150; i++) writeFileSync(join(logs, `other${i}.log`), "x\n");
    assert.equal((await watcher.changesSince(before.now)).paths, null);
  } finally {
    stop.abort();
    await following;
    watcher.close();
  }
});

test("a change in a directory whose name is not UTF-8 is in the next watched snapshot", async () => {
  const repo = repos.make(files(1200));
  // A file name is bytes: Latin-1 names, as an archive made elsewhere leaves them.
  mkdirSync(Buffer.from(`${repo}/\xe9t\xe9`, "latin1"));
  writeFileSync(Buffer.from(`${repo}/\xe9t\xe9/inside.txt`, "latin1"), "committed\n");
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "a Latin-1 name");
  const by = watchers();
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  writeFileSync(Buffer.from(`${repo}/\xe9t\xe9/inside.txt`, "latin1"), "changed\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
});

test("a change to a file whose name is not UTF-8 is in the next watched snapshot, staged beside the kept index or in it", async () => {
  const repo = repos.make(files(1200));
  const latin1 = Buffer.from(`${repo}/d0/caf\xe9.txt`, "latin1");
  // Written an hour ago, each time: never racily clean, so git trusts what the watcher says of it.
  const write = (text: string) => {
    writeFileSync(latin1, text);
    const old = Date.now() / 1000 - 3600;
    utimesSync(latin1, old, old);
  };
  write("committed\n");
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "a Latin-1 name");
  const by = watchers();
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  write("changed\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo), "alone");
  // Past the few changes staged beside the kept index: what is staged in it relies on the watcher's paths.
  for (let i = 0; i < 40; i++) writeFileSync(join(repo, `d${i % 4}/f${i * 4}.txt`), `changed ${i}\n`);
  write("changed again\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo), "with many others");
  write("changed once more\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo), "alone again");
});
