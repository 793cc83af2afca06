// hashFiles as GitHub computes it, on real files in a temporary directory.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { globToRegExp, hashFiles } from "../../../src/ci/expressions/hash-files.js";

const root = mkdtempSync(join(tmpdir(), "quire-hashfiles-"));
after(() => rmSync(root, { recursive: true, force: true }));
mkdirSync(join(root, "a/b"), { recursive: true });
mkdirSync(join(root, ".git"));
writeFileSync(join(root, "package-lock.json"), "top");
writeFileSync(join(root, "a/b/package-lock.json"), "deep");
writeFileSync(join(root, "a/notes.txt"), "n");
writeFileSync(join(root, ".git/package-lock.json"), "never");

const sha = (data: Buffer | string) => createHash("sha256").update(data).digest();

test("the hash of each matching file's hash, files in path order; .git is never read", () => {
  const expected = createHash("sha256").update(sha("deep")).update(sha("top")).digest("hex");
  assert.equal(hashFiles(root, ["**/package-lock.json"]), expected);
});

test("patterns combine, ! excludes, and no match is the empty string", () => {
  assert.equal(hashFiles(root, ["**/package-lock.json", "!a/**"]), createHash("sha256").update(sha("top")).digest("hex"));
  assert.equal(hashFiles(root, ["*.lock"]), "");
});

test("globs: ** spans directories, * and ? stay within one", () => {
  assert.ok(globToRegExp("**/x.json").test("x.json"));
  assert.ok(globToRegExp("**/x.json").test("a/b/x.json"));
  assert.ok(!globToRegExp("*/x.json").test("a/b/x.json"));
  assert.ok(globToRegExp("a/?.txt").test("a/b.txt"));
  assert.ok(!globToRegExp("a.txt").test("aXtxt"));
});
