// What a workspace's git reads outside it, for the sandbox to show read-only: what its repository's
// alternates name, followed through theirs (absolute and relative): a store alone, the person's
// repository whole; and the same for a checked-out submodule (a gitlink in the index with a repository of
// its own). A plain directory reads nothing.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { workspaceReads } from "../../../src/ci/runner/workspace-reads.js";
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

  assert.deepEqual((await workspaceReads(workspace)).sort(), [person, store, join(outside, "stores", "sub.git")].sort());
  assert.deepEqual(await workspaceReads(repos.dir("plain")), []);
});
