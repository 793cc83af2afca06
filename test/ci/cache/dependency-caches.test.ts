// Dependency caches on real files in temp directories: entries found by key, else by the newest entry
// of a restore key, kept per repository unless the key is shared, holding exactly their paths; restored
// copies that a step may write into without touching the entry; half-saved entries never restored.
import assert from "node:assert/strict";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { DependencyCaches } from "../../../src/ci/cache/dependency-caches.js";
import { removeHalfSaved } from "../../../src/ci/cache/entry-store.js";
import { tempRepos, writeFiles } from "../../helpers/git.js";

const dirs = tempRepos();

/** A cache home and a workspace with `files` in it. */
function setup(files: Record<string, string> = {}) {
  const root = dirs.dir("cache");
  const work = dirs.dir("work");
  writeFiles(work, files);
  return { root, work, caches: new DependencyCaches(root) };
}

test("an entry is found by its key, else by the newest entry whose key starts with a restore key, tried in order", async () => {
  const { caches, work } = setup({ "node_modules/a.js": "v1" });
  const request = (key: string, restoreKeys: string[] = []) => ({ key, paths: ["node_modules"], restoreKeys });
  assert.deepEqual(await caches.restore("/repo", request("deps-1"), work), { hit: "miss" });
  assert.equal(await caches.save("/repo", request("deps-1"), work, 1000), "saved");
  assert.equal(await caches.save("/repo", request("deps-1"), work, 1001), "exists", "an entry is never replaced");
  writeFiles(work, { "node_modules/a.js": "v2" });
  assert.equal(await caches.save("/repo", request("deps-2"), work, 2000), "saved");
  writeFiles(work, { "node_modules/a.js": "other" });
  assert.equal(await caches.save("/repo", request("other-1"), work, 3000), "saved");

  const fresh = dirs.dir("fresh");
  assert.deepEqual(await caches.restore("/repo", request("deps-1"), fresh), { hit: "exact", key: "deps-1" });
  assert.equal(readFileSync(join(fresh, "node_modules/a.js"), "utf8"), "v1");
  assert.deepEqual(
    await caches.restore("/repo", request("deps-3", ["nope-", "deps-"]), fresh),
    { hit: "prefix", key: "deps-2" },
    "the newest of the first restore key that matches",
  );
  assert.equal(readFileSync(join(fresh, "node_modules/a.js"), "utf8"), "v2");
  assert.deepEqual(await caches.restore("/repo", request("deps-3", ["nope-"]), fresh), { hit: "miss" });
});

test("entries are the repository's own unless the key starts with shared:, and hold exactly the paths they were saved with", async () => {
  const { caches, work } = setup({ "a/x": "a", "b/y": "b" });
  await caches.save("/one", { key: "k", paths: ["a"] }, work, 1);
  await caches.save("/one", { key: "shared:k", paths: ["a"] }, work, 1);
  assert.deepEqual(
    await caches.restore("/two", { key: "k", paths: ["a"], restoreKeys: ["k"] }, dirs.dir()),
    { hit: "miss" },
    "another repository's entry",
  );
  assert.deepEqual(await caches.restore("/two", { key: "shared:k", paths: ["a"], restoreKeys: [] }, dirs.dir()), {
    hit: "exact",
    key: "shared:k",
  });
  assert.deepEqual(
    await caches.restore("/one", { key: "k", paths: ["a", "b"], restoreKeys: ["k"] }, dirs.dir()),
    { hit: "miss" },
    "the same key with other paths is another entry",
  );
  assert.equal(await caches.save("/one", { key: "none", paths: ["missing"] }, work, 1), "nothing", "nothing to save: no entry");
  assert.deepEqual(await caches.restore("/one", { key: "none", paths: ["missing"], restoreKeys: [] }, dirs.dir()), { hit: "miss" });
});

test("a restored copy is the step's to change: writing into it leaves the entry as it was saved", async () => {
  const { caches, work } = setup({ "deps/lib/index.js": "original", "deps/bin/tool": "#!/bin/sh\n" });
  chmodSync(join(work, "deps/bin/tool"), 0o755);
  symlinkSync("../lib/index.js", join(work, "deps/bin/link"));
  const request = { key: "k", paths: ["deps"], restoreKeys: [] };
  await caches.save("/repo", request, work, 1);

  const first = dirs.dir("first");
  await caches.restore("/repo", request, first);
  assert.equal(readlinkSync(join(first, "deps/bin/link")), "../lib/index.js", "links stay links, as written");
  assert.equal(statSync(join(first, "deps/bin/tool")).mode & 0o777, 0o755, "modes are kept");
  assert.equal(statSync(join(first, "deps/lib/index.js")).nlink, 1, "a copy of its own, not a hard link to the entry");
  writeFileSync(join(first, "deps/lib/index.js"), "changed by a step");
  writeFileSync(join(first, "deps/bin/link"), "written through the link");

  const second = dirs.dir("second");
  await caches.restore("/repo", request, second);
  assert.equal(readFileSync(join(second, "deps/lib/index.js"), "utf8"), "original");
});

test("restoring replaces what is in the way, and never writes through a link to elsewhere", async () => {
  const { caches, work } = setup({ "deps/file": "from the cache", "deps/dir/inner": "inner" });
  const request = { key: "k", paths: ["deps"], restoreKeys: [] };
  await caches.save("/repo", request, work, 1);
  const outside = dirs.dir("outside");
  writeFiles(outside, { target: "must stay", "dir/inner": "must stay too" });
  const target = dirs.dir("target");
  mkdirSync(join(target, "deps"));
  symlinkSync(join(outside, "target"), join(target, "deps/file"));
  symlinkSync(join(outside, "dir"), join(target, "deps/dir"));
  writeFiles(target, { "deps/kept": "not in the entry" });
  await caches.restore("/repo", request, target);
  assert.equal(readFileSync(join(outside, "target"), "utf8"), "must stay");
  assert.equal(readFileSync(join(outside, "dir/inner"), "utf8"), "must stay too");
  assert.equal(lstatSync(join(target, "deps/file")).isFile(), true);
  assert.equal(readFileSync(join(target, "deps/dir/inner"), "utf8"), "inner");
  assert.equal(
    readFileSync(join(target, "deps/kept"), "utf8"),
    "not in the entry",
    "an entry merges into what is there, as an archive would",
  );
});

test("what a save cut short left is never restored, and goes when the backend starts", async () => {
  const { caches, root, work } = setup({ "deps/a": "a" });
  // What a SIGKILL mid-save leaves: the entry's files aside, never renamed into place.
  const aside = join(root, ".saving", "12345-dead");
  writeFiles(aside, {
    "files/deps/a": "half",
    "entry.json": JSON.stringify({ key: "k", wanted: ["deps"], paths: ["deps"], createdAt: 1 }),
  });
  assert.deepEqual(await caches.restore("/repo", { key: "k", paths: ["deps"], restoreKeys: ["k", ""] }, dirs.dir()), { hit: "miss" });
  removeHalfSaved(root);
  assert.equal(existsSync(aside), false);
  assert.equal(await caches.save("/repo", { key: "k", paths: ["deps"] }, work, 1), "saved");
  assert.deepEqual(readdirSync(join(root, ".saving")), [], "a save leaves nothing aside");
});
