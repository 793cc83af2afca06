// Directories git ignores are not watched, so a real project's node_modules does not take the watcher's
// budget: its snapshots still come from the watcher (it stays working), and each is the tree the full
// stat takes, for changes inside ignored directories, to a tracked file inside one, and after the ignore
// rules change (a .gitignore, info/exclude) or the daemon restarts.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { TreeWatcher } from "../../../src/ci/workspace/tree-watcher.js";
import { git, tempRepos, writeFiles } from "../../helpers/git.js";
import { watchedSnapshots } from "../../helpers/watched-snapshots.js";

const repos = tempRepos();
// The budget the tests give a tree: far fewer directories than the ignored node_modules has.
const MAX_DIRECTORIES = 50;
const snapshots = watchedSnapshots(repos);
const { watchedTree, fullTree } = snapshots;
const watchers = () => snapshots.watchers({ maxDirectories: MAX_DIRECTORIES });

// An index big enough for git to trust the fsmonitor (1,000 entries), and an npm-like node_modules of
// 400 directories, with one file forced into the index.
function project(): string {
  const tracked = Object.fromEntries(Array.from({ length: 1200 }, (_, i) => [`src/d${i % 4}/f${i}.txt`, `file ${i}\n`]));
  const repo = repos.make({ ...tracked, ".gitignore": "node_modules/\n", "vendor/patched/index.js": "patched\n" });
  const modules = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`node_modules/pkg${i}/lib/index.js`, `module ${i}\n`]));
  writeFiles(repo, modules);
  writeFiles(repo, { "node_modules/forced/keep.js": "forced\n" });
  git(repo, "add", "-f", "node_modules/forced/keep.js");
  git(repo, "commit", "-q", "-m", "a file forced in from node_modules");
  return repo;
}

test("an ignored node_modules of many directories is not watched, and the watcher stays in use", async () => {
  const repo = project();
  const watcher = new TreeWatcher(repo, { maxDirectories: MAX_DIRECTORIES });
  try {
    assert.equal(watcher.working, true);
    // root, src, src/d0..3, vendor, vendor/patched, node_modules (holds the forced file's directory), node_modules/forced
    assert.equal(watcher.watchedDirectories, 10);
    const first = await watcher.changesSince(undefined);
    writeFileSync(join(repo, "node_modules/pkg1/lib/index.js"), "changed\n");
    writeFileSync(join(repo, "node_modules/forced/keep.js"), "changed\n");
    const next = await watcher.changesSince(first.now);
    assert.deepEqual(next.paths, ["node_modules/forced/keep.js"]);
  } finally {
    watcher.close();
  }
});

test("a change in an ignored directory is not in the snapshot; one to a tracked file inside it is", async () => {
  const repo = project();
  const by = watchers();
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  assert.equal(by.of(repo)?.working, true);
  writeFileSync(join(repo, "node_modules/pkg2/lib/index.js"), "changed\n");
  const unchanged = await watchedTree(repo, by);
  assert.equal(unchanged, await fullTree(repo));
  writeFileSync(join(repo, "node_modules/forced/keep.js"), "forced, changed\n");
  const changed = await watchedTree(repo, by);
  assert.notEqual(changed, unchanged);
  assert.equal(changed, await fullTree(repo));
  assert.equal(by.of(repo)?.working, true);
});

test("un-ignoring a directory with files in it puts them in the next snapshot", async () => {
  // Everything in node_modules ignored but pkg1 (and the forced file's directory).
  const allButPkg1 = "node_modules/*\n!node_modules/pkg1/\n";
  for (const [what, ignore, unignore] of [
    [".gitignore", () => {}, () => writeFileSync(join(ignoredRepo.repo, ".gitignore"), allButPkg1)],
    [
      "info/exclude",
      () => {
        writeFileSync(join(ignoredRepo.repo, ".gitignore"), "");
        writeFileSync(join(ignoredRepo.repo, ".git/info/exclude"), "node_modules/\n");
      },
      () => writeFileSync(join(ignoredRepo.repo, ".git/info/exclude"), allButPkg1),
    ],
  ] as const) {
    ignoredRepo.repo = project();
    const repo = ignoredRepo.repo;
    ignore();
    const by = watchers();
    const before = await watchedTree(repo, by);
    assert.equal(by.of(repo)?.working, true, what);
    // Made while ignored: no watch saw them.
    writeFiles(repo, { "node_modules/pkg1/lib/new.js": "new\n", "node_modules/pkg1/extra/more.js": "more\n" });
    unignore();
    const after = await watchedTree(repo, by);
    assert.equal(after, await fullTree(repo), `after un-ignoring in ${what}`);
    assert.notEqual(after, before, `the un-ignored files are in the snapshot, ${what}`);
    // The new watcher asked git again: pkg1 is watched now.
    const watcher = by.of(repo);
    assert.equal(watcher?.working, true, what);
    writeFileSync(join(repo, "node_modules/pkg1/lib/new.js"), "newer\n");
    assert.equal(await watchedTree(repo, by), await fullTree(repo), `a change in the un-ignored directory, ${what}`);
  }
});
const ignoredRepo = { repo: "" };

test("the same after a restart: what was un-ignored while no watcher ran is in the first snapshot", async () => {
  const repo = project();
  const first = watchers();
  await watchedTree(repo, first);
  first.close();
  writeFileSync(join(repo, ".gitignore"), "node_modules/*\n!node_modules/pkg1/\n");
  rmSync(join(repo, "node_modules/forced/keep.js"));
  const next = watchers();
  const tree = await watchedTree(repo, next);
  assert.equal(tree, await fullTree(repo));
  assert.equal(next.of(repo)?.working, true);
  writeFileSync(join(repo, "node_modules/loose.js"), "loose\n");
  assert.equal(await watchedTree(repo, next), await fullTree(repo));
});
