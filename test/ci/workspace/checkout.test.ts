// Workspaces as git checkouts, with real repositories in temp dirs: git in a workspace answers as it does
// in the person's working copy, a second workspace of the same working copy writes only what changed,
// submodules are there at their commits, and the person's .git gets no objects however big the changes.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ObjectStores } from "../../../src/ci/workspace/object-stores.js";
import { snapshotSource, type GitSnapshot } from "../../../src/ci/workspace/snapshot.js";
import { Workspaces } from "../../../src/ci/workspace/workspaces.js";
import { git, tempRepos, writeFiles as put } from "../../helpers/git.js";

// The fixture's git config isolation covers quire's own git commands here too.
const repos = tempRepos();

/** A home of quire's: its stores (pruning at once, whatever the size) and its workspaces. */
function quireHome() {
  const home = repos.dir("home");
  const stores = new ObjectStores(join(home, "git"), { expire: "now", aboveKiB: 0 });
  return { home, stores, workspaces: new Workspaces(join(home, "work"), { stores }) };
}

async function snapshot(stores: ObjectStores, dir: string): Promise<GitSnapshot> {
  const taken = await snapshotSource(dir, { stores });
  assert.equal(taken.kind, "git");
  return taken as GitSnapshot;
}

// git's view of a working copy, asked without letting git refresh the index (the person's must not change).
function view(dir: string) {
  return {
    status: git(dir, "status", "--porcelain=v2", "--branch", "--untracked-files=all"),
    staged: git(dir, "diff", "--cached", "--name-status"),
    head: git(dir, "log", "-1", "--format=%H"),
    describe: git(dir, "describe", "--tags", "--always", "--dirty"),
    branch: git(dir, "rev-parse", "--abbrev-ref", "HEAD"),
  };
}

// The files under `root`, but those in `.git` directories.
function filesIn(root: string, rel = ""): string[] {
  return readdirSync(join(root, rel), { withFileTypes: true })
    .flatMap((entry) => {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.name === ".git") return [];
      return entry.isDirectory() ? filesIn(root, path) : [path];
    })
    .sort();
}

// Everything a .git holds but its objects' times (git may touch an object it finds it has): names, sizes, contents.
function gitDirState(repo: string) {
  const out: string[] = [];
  const visit = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const s = statSync(path);
      if (s.isDirectory()) visit(path);
      else
        out.push(`${path} ${s.size} ${path.includes("/objects/") ? "" : s.mtimeMs} ${readFileSync(path).toString("base64").slice(0, 64)}`);
    }
  };
  visit(join(repo, ".git"));
  return { files: out, objects: git(repo, "count-objects", "-v") };
}

test("git in a workspace sees what the person sees: status, staged changes, HEAD, describe, branch, upstream", async () => {
  const upstream = repos.dir("upstream");
  git(upstream, "init", "-q", "--bare", "-b", "main");
  const repo = repos.make({ "a.txt": "a\n", "b.txt": "b\n", "lib/c.txt": "c\n", ".gitignore": "*.log\n" });
  git(repo, "tag", "-a", "v1.0", "-m", "one");
  git(repo, "remote", "add", "origin", upstream);
  git(repo, "push", "-q", "-u", "origin", "main");
  put(repo, { "a.txt": "a2\n" });
  git(repo, "commit", "-q", "-am", "second");
  put(repo, { "a.txt": "a3\n", "b.txt": "b2\n", "new.txt": "new\n", "debug.log": "ignored\n" });
  git(repo, "add", "b.txt");
  git(repo, "rm", "-q", "lib/c.txt");
  // Asked first: `git describe --dirty` and `git diff` refresh the person's index (same bytes, new time).
  const seen = { ...view(repo), diff: git(repo, "diff", "HEAD", "--stat"), upstream: git(repo, "rev-parse", "@{upstream}") };
  const before = gitDirState(repo);

  const { stores, workspaces } = quireHome();
  const staged = await workspaces.stage(await snapshot(stores, repo));
  staged.place(1);
  const ws = workspaces.path(1);

  assert.deepEqual(gitDirState(repo), before, "the person's .git is as it was");
  assert.deepEqual({ ...view(ws), diff: git(ws, "diff", "HEAD", "--stat"), upstream: git(ws, "rev-parse", "@{upstream}") }, seen);
  assert.equal(seen.describe, `v1.0-1-g${git(repo, "rev-parse", "--short", "HEAD")}-dirty`);
  // Ahead of its upstream by one commit, as the person's branch is: "what changed since origin/main" works.
  assert.equal(git(ws, "log", "--format=%s", "@{upstream}..HEAD"), "second");
  assert.equal(readFileSync(join(ws, "new.txt"), "utf8"), "new\n");
  assert.equal(existsSync(join(ws, "debug.log")), false, "ignored files are not part of the snapshot");
  // What a step does to the workspace's repository stays there.
  git(ws, "config", "core.hooksPath", ".husky");
  git(ws, "-c", "user.name=step", "-c", "user.email=step@quire.invalid", "commit", "-q", "-am", "a step's commit");
  git(ws, "tag", "from-a-step");
  assert.deepEqual(gitDirState(repo), before);
  assert.throws(() => git(repo, "config", "--get", "core.hooksPath"));
  assert.throws(() => git(repo, "rev-parse", "-q", "--verify", "refs/tags/from-a-step"));
});

test("a second workspace of the same working copy takes the first one's files and writes only what changed", async () => {
  const repo = repos.make({
    "same.txt": "same\n",
    "changes.txt": "v1\n",
    "goes.txt": "goes\n",
    "deep/dir/kept.txt": "kept\n",
    ".gitignore": "out/\n",
  });
  const { stores, workspaces } = quireHome();
  const first = await workspaces.stage(await snapshot(stores, repo));
  first.place(1);
  const ws1 = workspaces.path(1);
  const same = statSync(join(ws1, "same.txt"), { bigint: true });
  // A step changes a tracked file, leaves build output (ignored and not) and a nested repository, commits,
  // and points the repository's work tree somewhere else.
  const decoy = repos.dir("decoy");
  put(ws1, { "deep/dir/kept.txt": "changed by a step\n", "out/build.bin": "built\n", "stray.txt": "stray\n" });
  git(ws1, "init", "-q", "nested");
  git(ws1, "-c", "user.name=step", "-c", "user.email=step@quire.invalid", "commit", "-q", "-am", "a step's commit");
  git(ws1, "config", "core.worktree", decoy);
  await workspaces.release(1, false);
  assert.equal(existsSync(ws1), false);

  put(repo, { "changes.txt": "v2\n", "untracked.txt": "u\n" });
  rmSync(join(repo, "goes.txt"));
  const taken = await snapshot(stores, repo);
  const second = await workspaces.stage(taken);
  second.place(2);
  const ws2 = workspaces.path(2);

  assert.deepEqual(filesIn(ws2), [".gitignore", "changes.txt", "deep/dir/kept.txt", "same.txt", "untracked.txt"]);
  assert.equal(readFileSync(join(ws2, "changes.txt"), "utf8"), "v2\n");
  assert.equal(readFileSync(join(ws2, "deep/dir/kept.txt"), "utf8"), "kept\n", "the step's change is undone");
  assert.equal(git(ws2, "rev-parse", "HEAD"), taken.commit, "HEAD is the snapshot's commit, not the step's");
  assert.equal(git(ws2, "rev-parse", "--show-toplevel"), ws2);
  assert.deepEqual(readdirSync(decoy), [], "nothing was written where the step pointed the work tree");
  assert.equal(git(ws2, "status", "--porcelain"), git(repo, "status", "--porcelain"));
  // The file nothing changed was not written again: same inode, same times.
  const again = statSync(join(ws2, "same.txt"), { bigint: true });
  assert.deepEqual([again.ino, again.mtimeNs, again.ctimeNs], [same.ino, same.mtimeNs, same.ctimeNs]);

  // A spare that cannot be used (its index damaged) gives way to a fresh checkout.
  await workspaces.release(2, false);
  const spares = readdirSync(workspaces.root).filter((name) => name.startsWith(".spare-"));
  assert.equal(spares.length, 1);
  writeFileSync(join(workspaces.root, spares[0]!, "checkout-index"), "not an index");
  put(repo, { "changes.txt": "v3\n" });
  (await workspaces.stage(await snapshot(stores, repo))).place(3);
  assert.deepEqual(filesIn(workspaces.path(3)), [".gitignore", "changes.txt", "deep/dir/kept.txt", "same.txt", "untracked.txt"]);
  assert.equal(readFileSync(join(workspaces.path(3), "changes.txt"), "utf8"), "v3\n");
  assert.equal(git(workspaces.path(3), "status", "--porcelain"), git(repo, "status", "--porcelain"));
});

test("submodules are checked out at their recorded commits from the person's .git/modules, with their changes; one not checked out stays empty", async () => {
  const libUpstream = repos.make({ "lib.txt": "lib v1\n", "src/util.sh": "echo util\n" });
  const docsUpstream = repos.make({ "index.md": "# docs\n" });
  const repo = repos.make({ "main.txt": "main\n" });
  git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", libUpstream, "vendor/lib");
  git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", docsUpstream, "docs");
  git(repo, "commit", "-q", "-m", "submodules");
  const recorded = git(repo, "rev-parse", "HEAD:vendor/lib");
  // Upstream moves on (the superproject still records v1), then goes away: no network, no upstream needed.
  put(libUpstream, { "lib.txt": "lib v2\n" });
  git(libUpstream, "commit", "-q", "-am", "v2");
  rmSync(libUpstream, { recursive: true, force: true });
  rmSync(docsUpstream, { recursive: true, force: true });
  // The person edits the submodule and has never checked the other one out here.
  put(join(repo, "vendor", "lib"), { "lib.txt": "lib v1, edited\n" });
  git(repo, "submodule", "deinit", "-q", "-f", "docs");
  const before = gitDirState(repo);

  const { stores, workspaces } = quireHome();
  const taken = await snapshot(stores, repo);
  assert.deepEqual(
    taken.submodules.map((s) => [s.path, s.snapshot?.commit ?? null, s.snapshot?.dirty ?? null]),
    [
      ["docs", null, null],
      ["vendor/lib", recorded, true],
    ],
  );
  assert.equal(taken.dirty, true, "a submodule with changes makes the run dirty");
  const staged = await workspaces.stage(taken);
  staged.place(1);
  const ws = workspaces.path(1);
  assert.deepEqual(gitDirState(repo), before);
  assert.equal(readFileSync(join(ws, "vendor", "lib", "lib.txt"), "utf8"), "lib v1, edited\n");
  assert.equal(readFileSync(join(ws, "vendor", "lib", "src", "util.sh"), "utf8"), "echo util\n");
  assert.equal(git(join(ws, "vendor", "lib"), "rev-parse", "HEAD"), recorded);
  assert.deepEqual(readdirSync(join(ws, "docs")), []);
  assert.equal(git(ws, "status", "--porcelain"), git(repo, "status", "--porcelain"));
  assert.equal(git(join(ws, "vendor", "lib"), "status", "--porcelain"), git(join(repo, "vendor", "lib"), "status", "--porcelain"));

  // The next workspace takes this one's submodule too.
  const util = statSync(join(ws, "vendor", "lib", "src", "util.sh")).ino;
  await workspaces.release(1, false);
  put(join(repo, "vendor", "lib"), { "lib.txt": "lib v1, edited again\n" });
  const next = await workspaces.stage(await snapshot(stores, repo));
  next.place(2);
  const ws2 = workspaces.path(2);
  assert.equal(readFileSync(join(ws2, "vendor", "lib", "lib.txt"), "utf8"), "lib v1, edited again\n");
  assert.equal(statSync(join(ws2, "vendor", "lib", "src", "util.sh")).ino, util);

  // A submodule removed from the superproject is gone from the next workspace, files and all.
  await workspaces.release(2, false);
  git(repo, "rm", "-q", "-f", "vendor/lib");
  (await workspaces.stage(await snapshot(stores, repo))).place(3);
  assert.deepEqual(filesIn(workspaces.path(3)), [".gitmodules", "main.txt"]);
  assert.equal(git(workspaces.path(3), "status", "--porcelain"), git(repo, "status", "--porcelain"));
});

test("a big untracked file, changed between two runs, adds nothing to the person's .git; quire's store lets it go", async () => {
  const repo = repos.make({ "README.md": "big files\n" });
  const big = (seed: number) => Buffer.alloc(4 * 1024 * 1024, seed);
  writeFileSync(join(repo, "data.bin"), big(1));
  const before = gitDirState(repo);
  const size = () => execFileSync("du", ["-sb", join(repo, ".git")], { encoding: "utf8" }).split("\t")[0];
  const sizeBefore = size();

  const { stores, workspaces } = quireHome();
  const first = await snapshot(stores, repo);
  const blobOf = (snap: GitSnapshot) => git(first.store, "--git-dir=.", "rev-parse", `${snap.tree}:data.bin`);
  const has = (id: string) => {
    try {
      execFileSync("git", ["--git-dir=.", "cat-file", "-e", id], { cwd: first.store, stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  };
  const firstBlob = blobOf(first);
  (await workspaces.stage(first)).place(1);
  await workspaces.release(1, false);
  writeFileSync(join(repo, "data.bin"), big(2));
  const second = await snapshot(stores, repo);
  (await workspaces.stage(second)).place(2);

  assert.deepEqual(gitDirState(repo), before);
  assert.equal(size(), sizeBefore);
  assert.ok(readFileSync(join(workspaces.path(2), "data.bin")).equals(big(2)));
  // Run 1's workspace became run 2's, so nothing keeps its version of the file: letting go of it pruned
  // it (after run 2's workspace was made, before the next release). Run 2's stays with the spare.
  await workspaces.release(2, false);
  assert.ok(has(blobOf(second)));
  assert.ok(!has(firstBlob));
  assert.ok(!has(first.tree));
});

test("refs a stopped daemon left without a workspace are swept; a workspace's and a spare's refs stay", async () => {
  const repo = repos.make({ "a.txt": "a\n" });
  const { stores, workspaces } = quireHome();
  const spare = await snapshot(stores, repo);
  (await workspaces.stage(spare)).place(1);
  await workspaces.release(1, false);
  put(repo, { "a.txt": "changed\n" });
  const placed = await snapshot(stores, repo);
  (await workspaces.stage(placed)).place(2);
  const orphan = await snapshot(stores, repo);
  const refs = (...snapshots: GitSnapshot[]) =>
    snapshots.flatMap((s) => ["staged", "tree"].map((k) => `refs/quire/kept/${s.kept}/${k}`)).sort();
  const kept = () => git(placed.store, "--git-dir=.", "for-each-ref", "--format=%(refname)", "refs/quire/").split("\n").sort();
  await workspaces.release(2, false); // run 2 took run 1's workspace, whose refs went, and left its own as the spare
  assert.deepEqual(kept(), refs(placed, orphan));
  workspaces.removeHalfMade();
  await stores.sweep(workspaces.keptNames());
  assert.deepEqual(kept(), refs(placed), "run 2's workspace, now the spare, keeps its refs");
  assert.ok(spare.tree !== placed.tree);
});

test("a next workspace with the same staged tree takes the index it kept, and git there still sees what the person sees", async () => {
  const repo = repos.make({ "a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n" });
  put(repo, { "b.txt": "b staged\n" });
  git(repo, "add", "b.txt");
  put(repo, { "a.txt": "a1\n" });
  const { stores, workspaces } = quireHome();
  (await workspaces.stage(await snapshot(stores, repo))).place(1);
  const ws1 = workspaces.path(1);
  assert.deepEqual(view(ws1), view(repo));
  // A step stages and commits everything: the workspace's own index no longer says what the person staged.
  put(ws1, { "c.txt": "c by a step\n" });
  git(ws1, "add", "-A");
  git(ws1, "-c", "user.name=step", "-c", "user.email=step@quire.invalid", "commit", "-q", "-m", "a step's commit");
  await workspaces.release(1, false);

  // Unstaged changes only (a file changed again, one of the same size, one deleted): the staged tree is the same.
  put(repo, { "a.txt": "a2\n", "c.txt": "C\n" });
  rmSync(join(repo, "b.txt"));
  (await workspaces.stage(await snapshot(stores, repo))).place(2);
  const ws2 = workspaces.path(2);
  const kept = readdirSync(join(ws2, "..")).filter((name) => name.startsWith("staged-index-"));
  assert.equal(kept.length, 1);
  assert.deepEqual(readFileSync(join(ws2, ".git", "index")), readFileSync(join(ws2, "..", kept[0]!)), "the kept index was taken");
  // With the time it was written: git trusts stat data only of files older than their index, and a copy
  // dated now would vouch for a file rewritten since in the same second with the same size and inode.
  const keptTime = Math.floor(statSync(join(ws2, "..", kept[0]!)).mtimeMs);
  assert.equal(Math.floor(statSync(join(ws2, ".git", "index")).mtimeMs), keptTime);
  assert.deepEqual(view(ws2), view(repo));
  assert.equal(git(ws2, "diff", "HEAD"), git(repo, "diff", "HEAD"));

  // Staged anew: the staged tree differs, and the index is merged again.
  git(repo, "add", "a.txt");
  await workspaces.release(2, false);
  (await workspaces.stage(await snapshot(stores, repo))).place(3);
  assert.deepEqual(view(workspaces.path(3)), view(repo));
});

test("files that change type between runs, and a step's edits of what the last checkout wrote, are undone for the next run", async () => {
  const repo = repos.make({ "a.txt": "a\n", swap: "a file first\n", "dir/x.txt": "x\n", "same.txt": "same\n" });
  const { stores, workspaces } = quireHome();
  (await workspaces.stage(await snapshot(stores, repo))).place(1);
  await workspaces.release(1, false);

  // Unstaged changes only, so the staged tree is the same: a file becomes a directory, a directory a file.
  rmSync(join(repo, "swap"));
  rmSync(join(repo, "dir"), { recursive: true });
  put(repo, { "a.txt": "a2\n", "swap/inner.txt": "now a directory\n", dir: "now a file\n" });
  (await workspaces.stage(await snapshot(stores, repo))).place(2);
  const ws2 = workspaces.path(2);
  assert.deepEqual(filesIn(ws2), filesIn(repo));
  assert.equal(readFileSync(join(ws2, "dir"), "utf8"), "now a file\n");
  assert.deepEqual(view(ws2), view(repo));
  // A step edits what this checkout wrote and adds to the new directory.
  put(ws2, { "swap/inner.txt": "by a step\n", "swap/stray.txt": "stray\n", "a.txt": "by a step\n" });
  await workspaces.release(2, false);

  rmSync(join(repo, "swap"), { recursive: true });
  put(repo, { swap: "a file again\n", "same.txt": "changed at last\n" });
  (await workspaces.stage(await snapshot(stores, repo))).place(3);
  const ws3 = workspaces.path(3);
  assert.deepEqual(filesIn(ws3), filesIn(repo));
  for (const file of filesIn(repo)) assert.equal(readFileSync(join(ws3, file), "utf8"), readFileSync(join(repo, file), "utf8"), file);
  assert.deepEqual(view(ws3), view(repo));
});

test("a file a step made executable is not executable in the next run where the person's config says core.filemode=false", async () => {
  const repo = repos.make({ "a.txt": "a\n", "tool.sh": "echo tool\n" });
  git(repo, "config", "core.filemode", "false");
  const { stores, workspaces } = quireHome();
  (await workspaces.stage(await snapshot(stores, repo))).place(1);
  chmodSync(join(workspaces.path(1), "tool.sh"), 0o755);
  await workspaces.release(1, false);

  put(repo, { "a.txt": "a2\n" });
  (await workspaces.stage(await snapshot(stores, repo))).place(2);
  // As git checks it out: the tree says 100644. git there does not see the bit (filemode=false); a step does.
  assert.equal(statSync(join(workspaces.path(2), "tool.sh")).mode & 0o111, 0);
  assert.deepEqual(view(workspaces.path(2)), view(repo));
});

test("a file a step rewrote with its size and time kept is undone for the next run whatever the person's core.checkStat says", async () => {
  const repo = repos.make({ "a.txt": "a\n", "data.txt": "committed\n" });
  // Minimal: git compares a file's size and whole-second time only, as for a repository on a network disk.
  git(repo, "config", "core.checkStat", "minimal");
  git(repo, "config", "core.trustctime", "false");
  const { stores, workspaces } = quireHome();
  (await workspaces.stage(await snapshot(stores, repo))).place(1);
  const ws1 = workspaces.path(1);
  const data = join(ws1, "data.txt");
  // As though it was checked out an hour before its index was last written: the entry's stat data is then
  // trusted (a file no older than its index is racily clean, and git looks at what is in it).
  const old = Date.now() / 1000 - 3600;
  utimesSync(data, old, old);
  execFileSync("git", ["update-index", "-q", "--refresh"], {
    cwd: ws1,
    env: { ...process.env, GIT_INDEX_FILE: join(ws1, "..", "checkout-index") },
  });
  // A step replaces it (as an editor or a formatter saves), keeping its size and time: only its inode
  // (and ctime, within the same second perhaps not) tells.
  writeFileSync(`${data}.new`, "by a step\n");
  utimesSync(`${data}.new`, old, old);
  renameSync(`${data}.new`, data);
  await workspaces.release(1, false);

  put(repo, { "a.txt": "a2\n" });
  (await workspaces.stage(await snapshot(stores, repo))).place(2);
  assert.equal(readFileSync(join(workspaces.path(2), "data.txt"), "utf8"), "committed\n");
});

test("a spare whose directory a lingering process made a link out of the workspace removes nothing through it", async () => {
  const repo = repos.make({ "a.txt": "a\n", "d/x.txt": "x\n", "d/y.txt": "y\n" });
  const { home, stores, workspaces } = quireHome();
  (await workspaces.stage(await snapshot(stores, repo))).place(1);
  await workspaces.release(1, false);
  // After the restore, something a step left running (outside the job's reach by then) swaps d for a link.
  const outside = repos.dir("outside");
  writeFileSync(join(outside, "x.txt"), "not the workspace's\n");
  const spare = readdirSync(join(home, "work")).find((name) => name.startsWith(".spare-"))!;
  const checkout = join(home, "work", spare, "checkout");
  rmSync(join(checkout, "d"), { recursive: true });
  symlinkSync(outside, join(checkout, "d"));

  rmSync(join(repo, "d", "x.txt"));
  (await workspaces.stage(await snapshot(stores, repo))).place(2);
  assert.equal(readFileSync(join(outside, "x.txt"), "utf8"), "not the workspace's\n");
  assert.deepEqual(filesIn(workspaces.path(2)), filesIn(repo), "d is a directory again, as git checks it out");
});
