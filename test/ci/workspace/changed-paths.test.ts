// An incremental snapshot's `git add -A` looks only at the paths the watcher saw change: which pathspecs
// those become, that git takes them (one add, no listing of the whole tree), and that the snapshot is the
// full stat's where git refuses them or they name what git ignores or cannot add through.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { changedPaths } from "../../../src/ci/workspace/changed-paths.js";
import { type GitSnapshot, snapshotSource } from "../../../src/ci/workspace/snapshot.js";
import { git, tempRepos, writeFiles } from "../../helpers/git.js";
import { watchedSnapshots } from "../../helpers/watched-snapshots.js";

const repos = tempRepos();
const { stores, watchers, watchedSnapshot, watchedTree, fullTree } = watchedSnapshots(repos);

// git trusts the fsmonitor's word on tracked files only in an index of 1,000 entries or more.
function files(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`d${i % 4}/f${i}.txt`, `file ${i}\n`]));
}

// The `git add` commands a call ran in `repo` (their arguments and exit codes), from git's own trace.
async function addsDuring(repo: string, run: () => Promise<unknown>): Promise<{ argv: string[]; code: number }[]> {
  const trace = join(repos.dir("trace"), "events");
  process.env.GIT_TRACE2_EVENT = trace;
  try {
    await run();
  } finally {
    delete process.env.GIT_TRACE2_EVENT;
  }
  const bySid = new Map<string, { argv: string[]; code: number; worktree?: string }>();
  for (const line of readFileSync(trace, "utf8").split("\n").filter(Boolean)) {
    const event = JSON.parse(line) as { sid: string; event: string; argv?: string[]; code?: number; worktree?: string };
    if (event.event === "start") bySid.set(event.sid, { argv: event.argv!, code: -1 });
    // The first repository a command opens is its own (an add opens a nested one's too, for its HEAD).
    if (event.event === "def_repo") bySid.get(event.sid)!.worktree ??= event.worktree;
    if (event.event === "exit") bySid.get(event.sid)!.code = event.code!;
  }
  const root = realpathSync(repo);
  return [...bySid.values()]
    .filter((command) => command.argv.includes("add") && command.worktree === root)
    .map(({ argv, code }) => ({ argv, code }));
}

// The files of a snapshot's tree, read in the store its objects went to.
function filesOf(snapshot: GitSnapshot): string[] {
  return git(snapshot.store, "ls-tree", "-r", "--name-only", snapshot.tree).split("\n");
}

// The watched snapshot of `repo`, asserted to be made by one `git add` limited to the changed paths, and
// to be the tree the full stat sees.
async function limitedSnapshot(repo: string, by: ReturnType<typeof watchers>): Promise<GitSnapshot> {
  let watched: GitSnapshot | undefined;
  const adds = await addsDuring(repo, async () => {
    watched = await watchedSnapshot(repo, by);
  });
  assert.deepEqual(
    adds.map((add) => [add.code, add.argv.includes("--pathspec-from-file=-")]),
    [[0, true]],
  );
  assert.equal(watched!.tree, await fullTree(repo));
  return watched!;
}

test("the paths an add is given: gone ones their nearest existing directory, those in a gitlink the gitlink", async () => {
  const repo = repos.make({ "a/b/c.txt": "c\n", "top.txt": "t\n", "sub/.keep": "", "new/x": "", "we*rd[1].txt": "" });
  const asked: string[][] = [];
  // The previous snapshot had gone-at-root.txt and gone-dir/file.txt, not the probe files that came and went.
  const tracked = async (paths: string[]) => {
    asked.push(paths);
    return new Set(paths.filter((path) => path.startsWith("gone-")));
  };
  const paths = await changedPaths(
    repo,
    [
      "a/b/c.txt",
      "a/b/gone/deeper.txt",
      "gone-at-root.txt",
      "4913",
      "gone-dir/file.txt",
      "probe/x.tmp",
      "sub/inner/file.txt",
      "new/",
    ].concat(["top.txt", "a/b/", "we*rd[1].txt"]),
    ["sub"],
    tracked,
  );
  // a/b covers a/b/c.txt and what went under it.
  assert.deepEqual(paths?.sort(), ["a/b", "gone-at-root.txt", "gone-dir/file.txt", "new", "sub", "top.txt", "we*rd[1].txt"]);
  assert.deepEqual(asked, [["gone-at-root.txt", "4913", "gone-dir/file.txt", "probe/x.tmp"]], "asked once, for those gone whole");
  assert.deepEqual(await changedPaths(repo, [], [], tracked), []);
  assert.equal(await changedPaths(repo, ["/"], [], tracked), null, "the root itself changed");
  const many = Array.from({ length: 300 }, (_, i) => `many/d${i}/f.txt`);
  writeFiles(repo, Object.fromEntries(many.map((path) => [path, ""])));
  assert.equal(await changedPaths(repo, many, [], tracked), null, "too many paths: the whole tree");
  const gone = Array.from({ length: 300 }, (_, i) => `gone${i}.txt`);
  assert.equal(await changedPaths(repo, gone, [], tracked), null, "too many gone: the whole tree, without asking");
  assert.equal(asked.length, 1);
});

test("an incremental snapshot adds only what changed, in one git add, and equals the full stat", async () => {
  const repo = repos.make(files(1200));
  const by = watchers();
  await watchedTree(repo, by);
  writeFileSync(join(repo, "d0/f0.txt"), "changed\n");
  writeFiles(repo, { "d1/new.txt": "new\n", "fresh/dir/a.txt": "a\n" });
  rmSync(join(repo, "d2/f2.txt"));
  let watched = "";
  const adds = await addsDuring(repo, async () => {
    watched = await watchedTree(repo, by);
  });
  assert.equal(adds.length, 1, "no second add over the whole tree");
  assert.ok(adds[0]!.argv.includes("--pathspec-from-file=-"), "limited to the changed paths");
  assert.equal(adds[0]!.code, 0);
  assert.equal(watched, await fullTree(repo));
});

test("a file made and removed between two snapshots (an editor's probe) adds nothing; a tracked file removed is removed", async () => {
  const repo = repos.make({ ...files(1200), "top.txt": "top\n", "old/only.txt": "old\n" });
  const by = watchers();
  await watchedTree(repo, by);
  writeFileSync(join(repo, "4913"), "x\n");
  mkdirSync(join(repo, "probe"));
  writeFileSync(join(repo, "probe", "x.tmp"), "x\n");
  writeFileSync(join(repo, "d0/f0.txt"), "changed\n");
  rmSync(join(repo, "4913"));
  rmSync(join(repo, "probe"), { recursive: true });
  rmSync(join(repo, "top.txt"));
  rmSync(join(repo, "old"), { recursive: true });
  const watched = await limitedSnapshot(repo, by);
  assert.equal(filesOf(watched).includes("top.txt"), false);
  assert.equal(filesOf(watched).includes("old/only.txt"), false);
  assert.ok(filesOf(watched).includes("d0/f0.txt"));
});

test("a repository made inside the work tree after the watcher started becomes a gitlink, as the full stat sees it", async () => {
  const repo = repos.make(files(1200));
  const by = watchers();
  await watchedTree(repo, by);
  const nested = join(repo, "d3", "nested");
  mkdirSync(nested);
  git(nested, "init", "-q", "-b", "main");
  writeFiles(nested, { "in.txt": "in\n" });
  git(nested, "add", "-A");
  git(nested, "commit", "-q", "-m", "nested");
  const watched = await limitedSnapshot(repo, by);
  assert.deepEqual(
    watched.submodules.map((s) => s.path),
    ["d3/nested"],
  );
});

test("nothing changed: no add at all, and the snapshot after it is still limited", async () => {
  const repo = repos.make(files(1200));
  const by = watchers();
  const first = await watchedTree(repo, by);
  let again = "";
  const adds = await addsDuring(repo, async () => {
    again = await watchedTree(repo, by);
  });
  assert.equal(again, first);
  assert.deepEqual(adds, []);
  writeFileSync(join(repo, "d1/f1.txt"), "changed\n");
  const after = await addsDuring(repo, () => watchedTree(repo, by));
  assert.ok(after.length === 1 && after[0]!.argv.includes("--pathspec-from-file=-"), "limited, not started afresh");
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
});

test("an ignored directory made after the watcher started (an install) adds nothing of it, and the rest is added", async () => {
  const repo = repos.make({ ...files(1200), ".gitignore": "node_modules/\n*.log\n" });
  const by = watchers();
  await watchedTree(repo, by);
  writeFiles(repo, { "node_modules/pkg/index.js": "x\n", "node_modules/pkg/package.json": "{}\n", "d3/out.log": "log\n" });
  writeFileSync(join(repo, "d0/f0.txt"), "changed\n");
  let watched: GitSnapshot | undefined;
  const adds = await addsDuring(repo, async () => {
    watched = await watchedSnapshot(repo, by);
  });
  // git says it ignores the pathspecs naming them (exit 1) after adding the rest.
  assert.deepEqual(
    adds.map((add) => add.code),
    [1],
  );
  assert.equal(watched!.tree, await fullTree(repo));
  assert.ok(filesOf(watched!).includes("d0/f0.txt"));
  assert.equal(
    filesOf(watched!).some((path) => path.startsWith("node_modules/") || path.endsWith(".log")),
    false,
  );
});

test("a commit in a nested repository, a file in it, a directory made a symlink: as the full stat sees them", async () => {
  const repo = repos.make(files(1200));
  const nested = join(repo, "nested");
  mkdirSync(nested);
  git(nested, "init", "-q", "-b", "main");
  writeFiles(nested, { "in.txt": "in\n" });
  git(nested, "add", "-A");
  git(nested, "commit", "-q", "-m", "nested");
  git(repo, "add", "nested");
  git(repo, "commit", "-q", "-m", "a nested repository");
  const by = watchers();
  await watchedTree(repo, by);
  writeFileSync(join(nested, "in.txt"), "changed in\n");
  git(nested, "commit", "-q", "-am", "moved on");
  rmSync(join(repo, "d3"), { recursive: true });
  symlinkSync("d2", join(repo, "d3"));
  writeFileSync(join(repo, "d2/through-link.txt"), "x\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
});

test("a skipped directory inside the work tree (quire's home) stays out of an incremental snapshot", async () => {
  const repo = repos.make(files(1200));
  const home = join(repo, "home");
  mkdirSync(home);
  const by = watchers();
  const snap = async (watched: boolean) =>
    (await snapshotSource(repo, { stores, skip: [home], ...(watched ? { watchers: by } : {}) })) as GitSnapshot;
  await snap(true);
  writeFiles(home, { "quire.db": "secret\n", "work/1/x.txt": "x\n" });
  writeFileSync(join(repo, "d0/f0.txt"), "changed\n");
  const watched = await snap(true);
  assert.equal(watched.tree, (await snap(false)).tree);
  assert.equal(
    filesOf(watched).some((path) => path.startsWith("home/")),
    false,
  );
});
