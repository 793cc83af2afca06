// What a workspace's git reads outside it, for the sandbox to show read-only: what its repository's
// alternates name, followed through theirs (absolute and relative): a store alone, the person's
// repository whole; and the same for a checked-out submodule (a gitlink in the index with a repository of
// its own; without a recorded snapshot, the index says where: runs.test.ts has the recorded way, end to
// end). A plain directory reads nothing.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { workspaceReads } from "../../../src/ci/runner/workspace-reads.js";
import { materialize } from "../../../src/ci/workspace/checkout.js";
import { ObjectStores } from "../../../src/ci/workspace/object-stores.js";
import { snapshotSource } from "../../../src/ci/workspace/snapshot.js";
import { git, tempRepos } from "../../helpers/git.js";

const repos = tempRepos();

test("a store alone, the person's repository whole, and a submodule's store; a plain directory reads nothing", async () => {
  const outside = repos.dir("outside");
  const store = join(outside, "stores", "one.git");
  const person = join(outside, "person");
  mkdirSync(join(store, "objects", "info"), { recursive: true });
  mkdirSync(join(person, ".git", "objects"), { recursive: true });
  mkdirSync(join(outside, "stores", "other.git", "objects"), { recursive: true });
  // The store borrows the person's objects by a relative path, as git allows.
  writeFileSync(join(store, "objects", "info", "alternates"), "# the person's objects\n../../../person/.git/objects\n");

  const workspace = repos.make({ "a.txt": "a\n" });
  writeFileSync(join(workspace, ".git", "objects", "info", "alternates"), `${join(store, "objects")}\n`);
  const sub = join(workspace, "sub");
  mkdirSync(sub);
  git(sub, "init", "-q");
  writeFileSync(join(sub, ".git", "objects", "info", "alternates"), `${join(outside, "stores", "sub.git", "objects")}\n`);
  git(workspace, "update-index", "--add", "--cacheinfo", `160000,${git(workspace, "rev-parse", "HEAD")},sub`);

  assert.deepEqual((await workspaceReads(workspace, null)).sort(), [person, store, join(outside, "stores", "sub.git")].sort());
  assert.deepEqual(await workspaceReads(repos.dir("plain"), null), []);
});

test("a checkout's reads, its submodules' where the recorded snapshot says, are those its index says", async () => {
  const home = repos.dir("home");
  const stores = new ObjectStores(join(home, "git"));
  const lib = repos.make({ "lib.txt": "lib\n" });
  const repo = repos.make({ "a.txt": "a\n" });
  git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "vendor/lib");
  git(repo, "commit", "-q", "-m", "a submodule");
  writeFileSync(join(repo, "vendor", "lib", "lib.txt"), "changed in the submodule\n");
  const snapshot = await snapshotSource(repo, { stores });
  assert.equal(snapshot.kind, "git");
  const workspace = repos.dir("workspace");
  await materialize(snapshot, workspace);
  const reads = (await workspaceReads(workspace, snapshot)).sort();
  const submoduleStore = snapshot.submodules[0]?.snapshot?.store;
  assert.ok(submoduleStore && reads.includes(submoduleStore), `the submodule's store ${submoduleStore} is read: ${reads}`);
  assert.deepEqual(reads, (await workspaceReads(workspace, null)).sort());
});
