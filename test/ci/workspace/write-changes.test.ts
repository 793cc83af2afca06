// writeChanges against git itself: a checkout of one commit brought to another holds exactly what a
// checkout of the other holds (contents, modes, symlinks, line endings, no empty directories), rewrites
// nothing that did not change, and declines, writing nothing, where only a merge can do it right.
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { writeChanges } from "../../../src/ci/workspace/write-changes.js";
import { git, tempRepos, writeFiles as put } from "../../helpers/git.js";

const repos = tempRepos();

// Every path under `root` but `.git`, with what git checks out: a directory, a link's target, a file's
// executable bit and bytes. Names are read as Latin-1, one character a byte, so that any bytes compare.
function contents(root: string, rel = ""): string[] {
  return readdirSync(Buffer.from(join(root, rel), "latin1"), { encoding: "latin1" })
    .sort()
    .flatMap((name) => {
      const path = rel ? `${rel}/${name}` : name;
      if (path === ".git") return [];
      const full = Buffer.from(join(root, path), "latin1");
      const s = lstatSync(full);
      if (s.isSymbolicLink()) return [`${path} -> ${readlinkSync(full, "latin1")}`];
      if (s.isDirectory()) return [`${path}/`, ...contents(root, path)];
      return [`${path} ${s.mode & 0o111 ? "x" : "-"} ${JSON.stringify(readFileSync(full, "latin1"))}`];
    });
}

/**
 * A clone of `repo` with `commit` checked out, as a restored spare workspace would have it; like a
 * workspace, it reads objects made later from the repository's store.
 */
function checkoutOf(repo: string, commit: string): string {
  const dir = repos.dir("checkout");
  git(dir, "clone", "-q", "--no-checkout", "--shared", repo, ".");
  git(dir, "checkout", "-q", "--detach", commit);
  return dir;
}

function commitAll(repo: string, message: string): { commit: string; tree: string } {
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", message);
  return head(repo);
}

function head(repo: string): { commit: string; tree: string } {
  return { commit: git(repo, "rev-parse", "HEAD"), tree: git(repo, "rev-parse", "HEAD^{tree}") };
}

test("a checkout brought from one tree to the next holds what a checkout of the next holds, and only what changed is written", async () => {
  const repo = repos.make({
    ".gitattributes": "*.crlf text eol=crlf\n",
    "same.txt": "same\n",
    "changes.txt": "v1\n",
    "goes/deep/only.txt": "the directory goes with it\n",
    "becomes-dir": "a file, then a directory\n",
    "becomes-file/inside.txt": "a directory, then a file\n",
    "script.sh": "echo hi\n",
    "target.txt": "target\n",
    "stays-dir/kept.txt": "kept\n",
    "stays-dir/goes.txt": "goes\n",
  });
  symlinkSync("target.txt", join(repo, "link-becomes-file"));
  put(repo, { "file-becomes-link": "plain\n" });
  const from = commitAll(repo, "from");

  git(repo, "rm", "-rq", "goes", "becomes-dir", "becomes-file", "link-becomes-file", "file-becomes-link", "stays-dir/goes.txt");
  put(repo, {
    "changes.txt": "v2\n",
    "becomes-dir/inside.txt": "now a directory\n",
    "becomes-file": "now a file\n",
    "link-becomes-file": "now plain\n",
    "new/deep/file.txt": "new\n",
    "new.crlf": "one\ntwo\n",
  });
  symlinkSync("target.txt", join(repo, "file-becomes-link"));
  git(repo, "update-index", "--chmod=+x", "script.sh");
  const to = commitAll(repo, "to");

  const dest = checkoutOf(repo, from.commit);
  const same = lstatSync(join(dest, "same.txt"), { bigint: true });
  const state = repos.dir("state");
  assert.equal(await writeChanges(dest, state, from.tree, to.tree), true);

  assert.deepEqual(contents(dest), contents(checkoutOf(repo, to.commit)));
  assert.ok(contents(dest).includes(`new.crlf - ${JSON.stringify("one\r\ntwo\r\n")}`), "written through the attributes");
  const again = lstatSync(join(dest, "same.txt"), { bigint: true });
  assert.deepEqual([again.ino, again.mtimeNs, again.ctimeNs], [same.ino, same.mtimeNs, same.ctimeNs], "same.txt was not written");
  assert.deepEqual(readdirSync(state), [], "its scratch index is gone");
});

test("the same tree writes nothing; a changed .gitattributes or a gitlink that comes is left to a merge, with nothing written", async () => {
  const repo = repos.make({ "a.txt": "a\n", "b.txt": "b\n" });
  const from = head(repo);
  const dest = checkoutOf(repo, from.commit);
  const state = repos.dir("state");
  const before = contents(dest);
  assert.equal(await writeChanges(dest, state, from.tree, from.tree), true);

  put(repo, { ".gitattributes": "*.txt text eol=crlf\n", "a.txt": "a changed\n" });
  const attributes = commitAll(repo, "attributes");
  assert.equal(await writeChanges(dest, state, from.tree, attributes.tree), false);
  assert.deepEqual(contents(dest), before);

  git(repo, "rm", "-q", ".gitattributes");
  git(repo, "update-index", "--add", "--cacheinfo", `160000,${from.commit},vendor/lib`);
  git(repo, "commit", "-q", "-m", "a gitlink");
  assert.equal(await writeChanges(dest, state, from.tree, git(repo, "rev-parse", "HEAD^{tree}")), false);
  assert.deepEqual(contents(dest), before);
  assert.deepEqual(readdirSync(state), []);
});

test("a name that is not UTF-8 is left to a merge, with nothing written: read as UTF-8, it names another file", async () => {
  const repo = repos.make({ "keep.txt": "kept\n" });
  // A file name is bytes: Latin-1 names, as an archive made elsewhere leaves them.
  const raw = (name: string) => Buffer.from(`${repo}/${name}`, "latin1");
  mkdirSync(raw("d"));
  writeFileSync(raw("d/caf\xe9.txt"), "v1\n");
  writeFileSync(raw("d/gone\xe9.txt"), "goes\n");
  const from = commitAll(repo, "from");
  writeFileSync(raw("d/caf\xe9.txt"), "v2\n");
  unlinkSync(raw("d/gone\xe9.txt"));
  writeFileSync(raw("n\xe9w.txt"), "new\n");
  const to = commitAll(repo, "to");

  const dest = checkoutOf(repo, from.commit);
  const before = contents(dest);
  assert.equal(await writeChanges(dest, repos.dir("state"), from.tree, to.tree), false);
  assert.deepEqual(contents(dest), before);
  // What the caller does then: git's own merge writes those names as they are.
  git(dest, "read-tree", "-m", "-u", from.tree, to.tree);
  assert.deepEqual(contents(dest), contents(checkoutOf(repo, to.commit)));
});
