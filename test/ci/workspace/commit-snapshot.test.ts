// A run of a given commit (`quirectl run --commit REV`), with real repositories in temp dirs: it is
// recorded under the ref a person would expect of that commit, not whatever branch HEAD is on, and its
// submodules are checked out at the commits it records, from the person's .git/modules.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { materialize } from "../../../src/ci/workspace/checkout.js";
import { ObjectStores } from "../../../src/ci/workspace/object-stores.js";
import { type GitSnapshot, snapshotSource } from "../../../src/ci/workspace/snapshot.js";
import { git, tempRepos, writeFiles } from "../../helpers/git.js";

const repos = tempRepos();
const stores = new ObjectStores(join(repos.dir("stores"), "git"));

async function ofCommit(repo: string, rev: string): Promise<GitSnapshot> {
  return (await snapshotSource(repo, { stores, commit: git(repo, "rev-parse", `${rev}^{commit}`) })) as GitSnapshot;
}

test("a commit runs on the branch whose tip it is, else under a tag that points at it, else detached at it", async () => {
  const repo = repos.make({ "a.txt": "one\n" });
  const first = git(repo, "rev-parse", "HEAD");
  writeFiles(repo, { "a.txt": "two\n" });
  git(repo, "commit", "-qam", "two");
  const second = git(repo, "rev-parse", "HEAD");
  writeFiles(repo, { "a.txt": "three\n" });
  git(repo, "commit", "-qam", "three");
  const names = async (rev: string) => {
    const taken = await ofCommit(repo, rev);
    return [taken.ref, taken.branch];
  };
  assert.deepEqual(await names("HEAD"), ["main", "main"], "HEAD's branch's tip");
  assert.deepEqual(await names("HEAD~2"), [first, null], "a commit that is no branch's tip: detached, named by its id");
  git(repo, "tag", "-a", "-m", "release", "v1", second);
  assert.deepEqual(await names("HEAD~1"), ["v1", null], "a tagged commit: the tag");
  git(repo, "branch", "release", second);
  assert.deepEqual(await names("HEAD~1"), ["release", "release"], "another branch's tip");
  git(repo, "branch", "also-main", "HEAD");
  assert.deepEqual(await names("HEAD"), ["main", "main"], "HEAD's branch first when several branches have the commit as tip");
  // The workspace's HEAD follows: on the branch, or detached at the commit.
  const dest = join(repos.dir("ws"), "checkout");
  await materialize(await ofCommit(repo, "HEAD~2"), dest);
  assert.equal(git(dest, "rev-parse", "HEAD"), first);
  assert.equal(git(dest, "rev-parse", "--abbrev-ref", "HEAD"), "HEAD");
  await materialize(await ofCommit(repo, "HEAD~1"), dest);
  assert.equal(git(dest, "rev-parse", "--abbrev-ref", "HEAD"), "release");
});

test("a commit's submodules are checked out at the commits it records, from .git/modules, whatever the working copy has", async () => {
  const upstream = repos.make({ "lib.txt": "lib one\n" });
  const libOne = git(upstream, "rev-parse", "HEAD");
  const repo = repos.make({ "a.txt": "a\n" });
  git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", "--name", "the-lib", upstream, "vendor/lib");
  git(repo, "commit", "-q", "-m", "a submodule");
  const recorded = git(repo, "rev-parse", "HEAD");
  // The submodule moves on, in the working copy and in a later commit of the superproject.
  writeFiles(upstream, { "lib.txt": "lib two\n" });
  git(upstream, "commit", "-qam", "two");
  git(join(repo, "vendor/lib"), "-c", "protocol.file.allow=always", "pull", "-q", "--ff-only");
  git(repo, "commit", "-qam", "the submodule moved");
  writeFiles(repo, { "vendor/lib/lib.txt": "uncommitted\n" });

  const taken = await ofCommit(repo, recorded);
  assert.deepEqual(
    taken.submodules.map((s) => [s.path, s.snapshot?.commit ?? null, s.snapshot?.dirty ?? null]),
    [["vendor/lib", libOne, false]],
  );
  const dest = join(repos.dir("ws"), "checkout");
  await materialize(taken, dest);
  assert.equal(readFileSync(join(dest, "vendor/lib/lib.txt"), "utf8"), "lib one\n");
  assert.equal(git(join(dest, "vendor/lib"), "rev-parse", "HEAD"), libOne);
  assert.equal(git(dest, "status", "--porcelain"), "", "the workspace is clean at the commit, submodule included");

  // A submodule whose git directory is not there (never cloned here) stays an empty directory.
  const fresh = repos.dir("clone");
  git(fresh, "-c", "protocol.file.allow=always", "clone", "-q", repo, ".");
  const bare = await ofCommit(fresh, recorded);
  assert.deepEqual(
    bare.submodules.map((s) => [s.path, s.snapshot]),
    [["vendor/lib", null]],
  );
});
