// Snapshots of real git repositories (and a plain directory) in temp dirs: the snapshot holds exactly the
// working copy, and the working copy, its index, stash, refs, config and object store are byte for byte
// what they were before.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
} from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { materialize } from "../../../src/ci/workspace/checkout.js";
import { ObjectStores } from "../../../src/ci/workspace/object-stores.js";
import { snapshotSource, type GitSnapshot } from "../../../src/ci/workspace/snapshot.js";
import { Workspaces } from "../../../src/ci/workspace/workspaces.js";
import { git, tempRepos, writeFiles } from "../../helpers/git.js";

// The fixture's git config isolation covers quire's own git commands here too.
const repos = tempRepos();
const stores = new ObjectStores(join(repos.dir("stores"), "git"));

function put(root: string, path: string, content: string, mode = 0o644): void {
  writeFiles(root, { [path]: content }, mode);
}

// Everything under `root` (but `skip`): kind, mode, size, mtime and ctime in ns, and the content's hash or
// the link's target. Directories too, so a file made and removed again shows in its directory's mtime.
function walk(root: string, skip: string[] = []): Map<string, string> {
  const out = new Map<string, string>();
  const visit = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      if (skip.includes(path)) continue;
      const full = join(root, path);
      const s = lstatSync(full, { bigint: true });
      let what = "";
      if (s.isFile()) what = createHash("sha256").update(readFileSync(full)).digest("hex");
      else if (s.isSymbolicLink()) what = `-> ${readlinkSync(full)}`;
      out.set(path, `${s.mode.toString(8)} ${s.size} ${s.mtimeNs} ${s.ctimeNs} ${what}`);
      if (s.isDirectory()) visit(path);
    }
  };
  visit("");
  return out;
}

// The state a snapshot must not change: everything, .git/objects included (the snapshot's objects go to
// quire's store). Git may set the time of an object it finds it already has (to keep it from a prune),
// so objects count by name, size and content. The walk comes first: the git commands after it only read.
function fingerprint(repo: string) {
  return {
    files: walk(repo, [".git/objects"]),
    objects: objectFiles(join(repo, ".git", "objects")),
    status: git(repo, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all", "--ignored"),
    stash: git(repo, "stash", "list"),
    refs: git(repo, "for-each-ref", "--format=%(refname) %(objectname) %(symref)"),
    head: readFileSync(join(repo, ".git", "HEAD"), "utf8"),
  };
}

function objectFiles(dir: string): string[] {
  return [...walk(dir)].flatMap(([path, what]) => {
    const [mode, size, , , hash] = what.split(" ");
    return mode!.startsWith("4") ? [] : [`${path} ${size} ${hash}`];
  });
}

// What a materialized tree holds: path -> content (with `+x` for executables) or `-> target` for links;
// `.git` directories (a workspace's own repositories) are left out.
function contents(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      if (name === ".git") continue;
      const path = rel ? `${rel}/${name}` : name;
      const s = lstatSync(join(root, path));
      if (s.isDirectory()) {
        if (readdirSync(join(root, path)).length === 0) out[`${path}/`] = "(empty dir)";
        visit(path);
      } else if (s.isSymbolicLink()) out[path] = `-> ${readlinkSync(join(root, path))}`;
      else out[path] = readFileSync(join(root, path), "utf8") + (s.mode & 0o100 ? " +x" : "");
    }
  };
  visit("");
  return out;
}

// The tree's entries, read from quire's store (which has the repository's objects as its alternate).
function lsTree(snapshot: GitSnapshot): string[] {
  return git(snapshot.store, "--git-dir=.", "ls-tree", "-r", "-z", "--full-tree", snapshot.tree)
    .split("\0")
    .filter(Boolean)
    .map((line) => {
      const [meta, path] = line.split("\t");
      const [mode] = meta!.split(" ");
      return `${mode} ${path}`;
    });
}

async function gitSnapshot(dir: string): Promise<GitSnapshot> {
  const snapshot = await snapshotSource(dir, { stores });
  assert.equal(snapshot.kind, "git");
  return snapshot as GitSnapshot;
}

test("a clean working copy snapshots to HEAD's own tree, not dirty", async () => {
  const repo = repos.make({ "README.md": "hello\n", "src/a.js": "a\n", ".gitignore": "*.log\n" });
  const before = fingerprint(repo);
  const snapshot = await gitSnapshot(repo);
  assert.deepEqual(fingerprint(repo), before);
  const { store, kept, ...rest } = snapshot;
  assert.deepEqual(rest, {
    kind: "git",
    repo,
    ref: "main",
    branch: "main",
    commit: git(repo, "rev-parse", "HEAD"),
    tree: git(repo, "rev-parse", "HEAD^{tree}"),
    staged: git(repo, "rev-parse", "HEAD^{tree}"),
    dirty: false,
    source: {
      objects: join(repo, ".git", "objects"),
      config: join(repo, ".git", "config"),
      exclude: join(repo, ".git", "info", "exclude"),
      shallow: join(repo, ".git", "shallow"),
      format: "sha1",
    },
    submodules: [],
  });
  assert.equal(dirname(store), stores.root);
  assert.equal(git(store, "--git-dir=.", "rev-parse", `refs/quire/kept/${kept}/tree`), snapshot.tree);
  // An ignored file is not a change.
  put(repo, "debug.log", "noise\n");
  const again = await gitSnapshot(repo);
  assert.equal(again.dirty, false);
  assert.equal(again.tree, snapshot.tree);
});

test("every kind of change is in the snapshot, and the working copy, index, stash and refs are untouched", async () => {
  const repo = repos.make({
    ".gitignore": "*.log\nbuild/\n",
    "README.md": "hello\n",
    "src/app.js": "v1\n",
    "src/staged.txt": "s1\n",
    "src/both.txt": "b1\n",
    "gone.txt": "bye\n",
    "removed.txt": "rm\n",
    "run.sh": "#!/bin/sh\n",
    "stale.txt": "same\n",
    "sub/dir/f.txt": "f\n",
  });
  symlinkSync("README.md", join(repo, "link-old"));
  put(repo, "keep.log", "tracked although ignored\n");
  git(repo, "add", "link-old");
  git(repo, "add", "-f", "keep.log");
  git(repo, "commit", "-q", "-m", "more");
  // A stash entry that must survive (and stay the only one).
  put(repo, "README.md", "stashed change\n");
  git(repo, "stash", "push", "-q");

  put(repo, "src/app.js", "v2\n"); // modified, not staged
  put(repo, "src/staged.txt", "s2\n"); // staged
  git(repo, "add", "src/staged.txt");
  put(repo, "src/both.txt", "b2\n"); // staged, then changed again: the working copy wins
  git(repo, "add", "src/both.txt");
  put(repo, "src/both.txt", "b3\n");
  rmSync(join(repo, "gone.txt")); // deleted, not staged
  git(repo, "rm", "-q", "removed.txt"); // deletion staged
  put(repo, "added-then-deleted.txt", "x\n");
  git(repo, "add", "added-then-deleted.txt");
  rmSync(join(repo, "added-then-deleted.txt"));
  chmodSync(join(repo, "run.sh"), 0o755);
  put(repo, "keep.log", "tracked and changed\n");
  put(repo, "deep/nested/dir/new.txt", "new\n"); // untracked, nested
  put(repo, "with space.txt", "space\n");
  put(repo, "new\nline.txt", "newline\n");
  put(repo, 'tab\tand\\backslash "quoted".txt', "odd\n");
  put(repo, "ünïcödé.txt", "utf-8\n");
  symlinkSync("src/app.js", join(repo, "link-new"));
  put(repo, "debug.log", "ignored\n");
  put(repo, "build/out.bin", "ignored\n");
  put(repo, "deep/nested/x.log", "ignored\n");
  // Same content, new mtime: the real index's stat data is stale, so a refresh would rewrite it.
  utimesSync(join(repo, "stale.txt"), new Date(Date.now() + 60_000), new Date(Date.now() + 60_000));

  const indexBytes = readFileSync(join(repo, ".git", "index"));
  const before = fingerprint(repo);
  assert.match(before.status, /stale\.txt|src\/app\.js/); // the scenario really is dirty
  assert.equal(before.stash.split("\n").filter(Boolean).length, 1);

  const snapshot = await gitSnapshot(repo);

  assert.deepEqual(fingerprint(repo), before);
  assert.ok(readFileSync(join(repo, ".git", "index")).equals(indexBytes), "the real index's bytes");
  assert.equal(snapshot.repo, repo);
  assert.equal(snapshot.ref, "main");
  assert.equal(snapshot.commit, git(repo, "rev-parse", "HEAD"));
  assert.equal(snapshot.dirty, true);

  const modes = lsTree(snapshot);
  assert.ok(modes.includes("100755 run.sh"), modes.join("\n"));
  assert.ok(modes.includes("120000 link-new"));

  const dest = join(repos.dir("changes-out"), "ws");
  await materialize(snapshot, dest);
  assert.deepEqual(contents(dest), {
    ".gitignore": "*.log\nbuild/\n",
    "README.md": "hello\n",
    "deep/nested/dir/new.txt": "new\n",
    "keep.log": "tracked and changed\n",
    "link-new": "-> src/app.js",
    "link-old": "-> README.md",
    "new\nline.txt": "newline\n",
    "run.sh": "#!/bin/sh\n +x",
    "src/app.js": "v2\n",
    "src/both.txt": "b3\n",
    "src/staged.txt": "s2\n",
    "stale.txt": "same\n",
    "sub/dir/f.txt": "f\n",
    'tab\tand\\backslash "quoted".txt': "odd\n",
    "with space.txt": "space\n",
    "ünïcödé.txt": "utf-8\n",
  });
  assert.deepEqual(fingerprint(repo), before, "materializing leaves the repository alone too");

  // The workspace is a repository whose HEAD is the commit, whose index is what was staged and whose files
  // are the working copy's: git sees there what the person has not committed, as the person does. (Last:
  // `git diff` in the person's repository refreshes its index.)
  const status = (dir: string) => git(dir, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all");
  assert.equal(status(dest), status(repo));
  assert.equal(git(dest, "diff", "HEAD", "--stat"), git(repo, "diff", "HEAD", "--stat"));
});

test("a repository with no commits: the tree of what is there, commit null, and no index is created", async () => {
  const repo = repos.make();
  const empty = await gitSnapshot(repo);
  const emptyTree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";
  const { store: _store, kept: _kept, source: _source, ...rest } = empty;
  assert.deepEqual(rest, {
    kind: "git",
    repo,
    ref: "main",
    branch: "main",
    commit: null,
    tree: emptyTree,
    staged: emptyTree,
    dirty: false,
    submodules: [],
  });

  put(repo, "a.txt", "untracked\n");
  const before = fingerprint(repo);
  const untracked = await gitSnapshot(repo);
  assert.deepEqual(fingerprint(repo), before);
  assert.equal(existsSync(join(repo, ".git", "index")), false);
  assert.equal(untracked.commit, null);
  assert.equal(untracked.dirty, true);
  assert.deepEqual(lsTree(untracked), ["100644 a.txt"]);

  put(repo, "b.txt", "staged\n");
  git(repo, "add", "b.txt");
  const staged = fingerprint(repo);
  const both = await gitSnapshot(repo);
  assert.deepEqual(fingerprint(repo), staged);
  assert.deepEqual(lsTree(both), ["100644 a.txt", "100644 b.txt"]);
});

test("a detached HEAD names the commit as the ref", async () => {
  const repo = repos.make({ "a.txt": "1\n" });
  put(repo, "a.txt", "2\n");
  git(repo, "commit", "-q", "-am", "second");
  const first = git(repo, "rev-parse", "HEAD~1");
  git(repo, "checkout", "-q", "--detach", first);
  const snapshot = await gitSnapshot(repo);
  assert.equal(snapshot.ref, first);
  assert.equal(snapshot.branch, null);
  assert.equal(snapshot.commit, first);
  assert.equal(snapshot.dirty, false);
});

// `symbolic-ref --short` names such a branch `heads/main`, which made the workspace's HEAD
// `refs/heads/heads/main`: a branch with no commit.
test("a branch that shares its name with a tag is the ref, and the workspace's HEAD is on it", async () => {
  const repo = repos.make({ "a.txt": "1\n" });
  git(repo, "tag", "main");
  put(repo, "a.txt", "2\n");
  git(repo, "commit", "-q", "-am", "second");
  const snapshot = await gitSnapshot(repo);
  assert.equal(snapshot.branch, "main");
  assert.equal(snapshot.ref, "main");
  const dest = join(repos.dir("tagged-out"), "ws");
  await materialize(snapshot, dest);
  assert.equal(git(dest, "symbolic-ref", "HEAD"), "refs/heads/main");
  assert.equal(git(dest, "rev-parse", "HEAD"), snapshot.commit);
});

test("a directory inside the work tree snapshots the whole work tree", async () => {
  const repo = repos.make({ "top.txt": "top\n", "ci/pipelines/build.yml": "jobs: {}\n" });
  put(repo, "other/untracked.txt", "u\n");
  const snapshot = await gitSnapshot(join(repo, "ci", "pipelines"));
  assert.equal(snapshot.repo, repo);
  assert.deepEqual(lsTree(snapshot), ["100644 ci/pipelines/build.yml", "100644 other/untracked.txt", "100644 top.txt"]);
});

// Every object id in a repository's object store (loose and packed, and its alternates'), reachable or not.
function allObjects(gitDir: string): Set<string> {
  return new Set(git(gitDir, "--git-dir=.", "cat-file", "--batch-all-objects", "--batch-check=%(objectname)").split("\n").filter(Boolean));
}

test("a QUIRE_HOME inside the repo is left out of the snapshot: not in the tree, not dirty, no blob of secret.key", async () => {
  const repo = repos.make({ "README.md": "hello\n", "src/a.js": "a\n" });
  const home = join(repo, ".quire");
  const secret = `secret key ${Math.random()} ${Date.now()}\n`;
  put(home, "secret.key", secret, 0o600);
  put(home, "quire.db", `database ${Math.random()}\n`);
  put(home, "logs/run-1/job/step.log", "log\n");
  // `git hash-object` without -w computes the id and writes nothing.
  const hashOf = (path: string) => git(repo, "hash-object", "--no-filters", path);
  const blobs = [hashOf(join(home, "secret.key")), hashOf(join(home, "quire.db"))];

  const clean = await snapshotSource(join(repo, "src"), { stores, skip: [home] });
  assert.equal(clean.kind, "git");
  assert.equal((clean as GitSnapshot).dirty, false);
  assert.equal((clean as GitSnapshot).tree, git(repo, "rev-parse", "HEAD^{tree}"));
  const store = (clean as GitSnapshot).store;
  for (const blob of blobs) assert.ok(!allObjects(store).has(blob), `blob ${blob} of quire's home is an object`);

  // With a real change the run is dirty and holds the change, still without the home.
  put(repo, "src/b.js", "b\n");
  const changed = (await snapshotSource(repo, { stores, skip: [home] })) as GitSnapshot;
  assert.equal(changed.dirty, true);
  assert.deepEqual(lsTree(changed), ["100644 README.md", "100644 src/a.js", "100644 src/b.js"]);
  for (const blob of blobs) assert.ok(!allObjects(store).has(blob), `blob ${blob} of quire's home is an object`);

  // The same home named through a symlink to the repository, and a name with glob characters, are left out too.
  const link = join(repos.dir("home-link"), "repo");
  symlinkSync(repo, link);
  put(repo, "we*rd[home]/secret.key", secret, 0o600);
  const viaLink = (await snapshotSource(repo, { stores, skip: [join(link, ".quire"), join(repo, "we*rd[home]")] })) as GitSnapshot;
  assert.equal(viaLink.tree, changed.tree);
  // A skipped path outside the work tree, or the root itself, changes nothing.
  const outside = (await snapshotSource(repo, { stores, skip: [repos.dir("elsewhere"), repo] })) as GitSnapshot;
  assert.deepEqual(lsTree(outside), [
    "100644 .quire/logs/run-1/job/step.log",
    "100644 .quire/quire.db",
    "100644 .quire/secret.key",
    "100644 README.md",
    "100644 src/a.js",
    "100644 src/b.js",
    "100644 we*rd[home]/secret.key",
  ]);
  // The check above would have seen the blobs: without the skip they are written, to quire's store only.
  assert.ok(allObjects(store).has(blobs[0]!));
  assert.ok(!allObjects(join(repo, ".git")).has(blobs[0]!));
});

test("a linked worktree is snapshotted through its own index, which stays as it was", async () => {
  const main = repos.make({ "a.txt": "a\n" });
  const linked = join(repos.dir("linked"), "wt");
  git(main, "worktree", "add", "-q", "-b", "feature", linked);
  put(linked, "a.txt", "staged in the linked worktree\n");
  git(linked, "add", "a.txt");
  const index = join(main, ".git", "worktrees", "wt", "index");
  const before = { bytes: readFileSync(index), mtime: lstatSync(index, { bigint: true }).mtimeNs, main: fingerprint(main) };
  const snapshot = await gitSnapshot(linked);
  assert.equal(snapshot.repo, linked);
  assert.equal(snapshot.ref, "feature");
  assert.equal(snapshot.dirty, true);
  assert.equal(
    git(snapshot.store, "--git-dir=.", "rev-parse", `${snapshot.tree}:a.txt`),
    git(linked, "hash-object", "--no-filters", "a.txt"),
    "the staged a.txt",
  );
  assert.equal(snapshot.source.objects, join(main, ".git", "objects"));
  assert.deepEqual({ bytes: readFileSync(index), mtime: lstatSync(index, { bigint: true }).mtimeNs, main: fingerprint(main) }, before);
});

test("a nested repository is a gitlink in the tree and a repository of its own in the workspace, at its commit", async () => {
  const repo = repos.make({ "a.txt": "a\n" });
  const inner = repos.make({ "lib.txt": "lib\n" });
  git(repo, "clone", "-q", inner, "vendor/inner");
  const snapshot = await gitSnapshot(repo);
  assert.deepEqual(lsTree(snapshot), ["100644 a.txt", "160000 vendor/inner"]);
  assert.deepEqual(
    snapshot.submodules.map((s) => [s.path, s.snapshot?.commit]),
    [["vendor/inner", git(inner, "rev-parse", "HEAD")]],
  );
  const dest = join(repos.dir("outer-out"), "ws");
  await materialize(snapshot, dest);
  assert.deepEqual(contents(dest), { "a.txt": "a\n", "vendor/inner/lib.txt": "lib\n" });
  assert.equal(git(join(dest, "vendor", "inner"), "rev-parse", "HEAD"), git(inner, "rev-parse", "HEAD"));
});

test("a plain directory is copied with modes and links; sockets, FIFOs and the work root are left out", async (t) => {
  const dir = repos.dir("plain");
  put(dir, "a.txt", "a\n");
  put(dir, "bin/tool", "#!/bin/sh\n", 0o755);
  put(dir, "nested/deeper/b.txt", "b\n");
  mkdirSync(join(dir, "empty"));
  symlinkSync("a.txt", join(dir, "link"));
  symlinkSync("/nonexistent/target", join(dir, "dangling"));
  execFileSync("mkfifo", [join(dir, "fifo")]);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(dir, "socket"), resolve));
  t.after(() => server.close());
  // The work root inside the copied directory (quire's home in a project dir) is not copied into itself.
  const workspaces = new Workspaces(join(dir, ".quire", "work"));

  const snapshot = await snapshotSource(join(dir, "."), { stores });
  assert.deepEqual(snapshot, { kind: "dir", dir });
  const path = await workspaces.create(7, snapshot);
  assert.equal(path, join(dir, ".quire", "work", "7", "checkout"));
  assert.deepEqual(contents(path), {
    ".quire/": "(empty dir)",
    "a.txt": "a\n",
    "bin/tool": "#!/bin/sh\n +x",
    dangling: "-> /nonexistent/target",
    "empty/": "(empty dir)",
    link: "-> a.txt",
    "nested/deeper/b.txt": "b\n",
  });
});

test("failures are WorkspaceErrors: a missing directory, a git directory, an unknown tree", async () => {
  await assert.rejects(snapshotSource(join(repos.dir("missing"), "does-not-exist"), { stores }), { code: "QUIRE_ERR_WORKSPACE" });
  const repo = repos.make({ "a.txt": "a\n" });
  await assert.rejects(snapshotSource(join(repo, ".git"), { stores }), {
    code: "QUIRE_ERR_WORKSPACE",
    message: /is inside a git directory or a bare repository/,
  });
  const bogus = { ...(await gitSnapshot(repo)), tree: "1".repeat(40), dirty: true };
  await assert.rejects(
    materialize(bogus, join(repos.dir("errors-out"), "ws")),
    (error: { code: string; command: string[]; stderr: string }) => {
      assert.equal(error.code, "QUIRE_ERR_WORKSPACE");
      assert.deepEqual(error.command.slice(0, 2), ["git", "read-tree"]);
      assert.ok(error.stderr.length > 0);
      return true;
    },
  );
});

test("workspaces: released ones go, the last keepFailed failed ones stay (oldest failure removed first)", async () => {
  const repo = repos.make({ "a.txt": "a\n" });
  const snapshot = await gitSnapshot(repo);
  const root = join(repos.dir("work"), "work");
  const workspaces = new Workspaces(root, { keepFailed: 2, stores });
  for (const id of [1, 2, 3, 4, 5]) {
    const path = await workspaces.create(id, snapshot);
    assert.equal(path, workspaces.path(id));
    assert.equal(readFileSync(join(path, "a.txt"), "utf8"), "a\n");
  }
  const left = () =>
    readdirSync(root)
      .filter((name) => /^\d+$/.test(name))
      .sort();

  await workspaces.release(5, false);
  assert.deepEqual(left(), ["1", "2", "3", "4"]);
  // Failures arrive out of id order: the ones that failed last are kept.
  await workspaces.release(3, true);
  await workspaces.release(1, true);
  assert.deepEqual(left(), ["1", "2", "3", "4"]);
  await Promise.all([workspaces.release(4, true), workspaces.release(2, true)]);
  assert.deepEqual(left(), ["2", "4"]);
  // A fresh instance (a restarted daemon) continues the same order.
  const restarted = new Workspaces(root, { keepFailed: 2, stores });
  await restarted.create(6, snapshot);
  await restarted.release(6, true);
  assert.deepEqual(left(), ["2", "6"]);
});

test("workspaces: a step's read-only directories are removed too; create replaces leftovers", async () => {
  const repo = repos.make({ "a.txt": "a\n" });
  const snapshot = await gitSnapshot(repo);
  const workspaces = new Workspaces(join(repos.dir("work-ro"), "work"), { keepFailed: 0, stores });
  const readOnly = (path: string) => {
    put(path, "cache/mod/file.go", "package mod\n", 0o444);
    chmodSync(join(path, "cache", "mod"), 0o555);
    chmodSync(join(path, "cache"), 0o555);
  };
  const path = await workspaces.create(1, snapshot);
  readOnly(path);
  await workspaces.release(1, true); // keepFailed 0: nothing is kept
  assert.equal(existsSync(path), false);

  await workspaces.create(2, snapshot);
  assert.deepEqual(contents(workspaces.path(2)), { "a.txt": "a\n" }, "what run 1's steps wrote is gone");
  put(workspaces.path(2), "leftover.txt", "from a crashed attempt\n");
  readOnly(workspaces.path(2));
  await workspaces.create(2, snapshot);
  assert.deepEqual(contents(workspaces.path(2)), { "a.txt": "a\n" });
});
