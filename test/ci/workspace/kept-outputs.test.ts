// What the caches put back into a workspace is kept aside when its run ends and taken by the next restore
// of the same entry, on real files in temp directories through the real DependencyCaches: taken, it is
// exactly the entry again, whatever a step did to it (a file rewritten to the same size with its times
// set back, one added, one removed, a directory swapped for a link out), and nothing outside the
// workspace is read or written through a link; another entry is copied, not taken; a workspace keeps at
// most a few. What a job saved from the workspace is kept as a copy of the entry, but for what changed
// while it was saved.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { DependencyCaches } from "../../../src/ci/cache/dependency-caches.js";
import { KeptOutputs, type OutputsKeeper } from "../../../src/ci/workspace/kept-outputs.js";
import { tempRepos, writeFiles } from "../../helpers/git.js";

const dirs = tempRepos();

const MODULES = {
  "node_modules/a/index.js": "module.exports = 'a';\n",
  "node_modules/a/package.json": '{"name":"a"}\n',
  "node_modules/b/lib.js": "exports.b = 1;\n",
  "node_modules/b/deep/c.js": "exports.c = 2;\n",
};

/** An entry of MODULES saved under `key`, and a run's directory with an empty workspace in it. */
async function setup(key = "deps-1", files: Record<string, string> = MODULES) {
  const caches = new DependencyCaches(dirs.dir("cache"));
  const project = dirs.dir("project");
  writeFiles(project, files);
  if (files === MODULES) {
    symlinkSync("a/index.js", join(project, "node_modules/main.js"));
    chmodSync(join(project, "node_modules/b/lib.js"), 0o755);
  }
  const paths = [...new Set(Object.keys(files).map((f) => f.split("/")[0]!))];
  await caches.save("/repo", { key, paths }, project, Date.now());
  const state = dirs.dir("run");
  const root = join(state, "checkout");
  mkdirSync(root);
  const kept = new KeptOutputs(root, state);
  const restore = (k = key) => caches.restore("/repo", { key: k, paths, restoreKeys: [] }, root, { kept });
  return { caches, project, state, root, kept, restore, paths };
}

/** Every file, link and directory under `dir`: its kind, mode and content or target. */
function treeOf(dir: string): Record<string, string> {
  const tree: Record<string, string> = {};
  const walk = (path: string, rel: string) => {
    const stats = lstatSync(path);
    const mode = (stats.mode & 0o777).toString(8);
    if (stats.isSymbolicLink()) tree[rel] = `link ${readlinkSync(path)}`;
    else if (stats.isFile()) tree[rel] = `file ${mode} ${readFileSync(path, "utf8")}`;
    else {
      tree[rel] = `dir ${mode}`;
      for (const name of readdirSync(path)) walk(join(path, name), rel === "" ? name : `${rel}/${name}`);
    }
  };
  walk(dir, "");
  return tree;
}

/** Writes `content` (of the same size) over `file` and sets its times back to the nanosecond: only its change time, which nothing can set, tells. */
function rewriteKeepingTimes(file: string, content: string): void {
  const times = join(dirs.dir("times"), "reference");
  writeFileSync(times, "");
  execFileSync("touch", ["-r", file, times]);
  writeFileSync(file, content);
  execFileSync("touch", ["-r", times, file]);
}

/** Resolves once a file made now gets a time later than `path`'s change time: what changed there is then in an earlier tick. */
async function clockPast(path: string): Promise<void> {
  const probe = join(dirs.dir("clock"), "probe");
  const changed = lstatSync(path, { bigint: true }).ctimeNs;
  for (;;) {
    writeFileSync(probe, "");
    if (lstatSync(probe, { bigint: true }).mtimeNs > changed) return;
    rmSync(probe);
    await sleep(1);
  }
}

/** Which file `path` is: a copy may be given the inode number of a file removed before it, never its change time too. */
const identity = (path: string) => {
  const stats = lstatSync(path, { bigint: true });
  return `${stats.ino}@${stats.ctimeNs}`;
};

test("put back where nothing was, it is parked when the run ends and taken whole by the next restore of the same entry", async () => {
  const { project, root, kept, restore } = await setup();
  assert.deepEqual(await restore(), { hit: "exact", key: "deps-1" });
  const target = join(root, "node_modules");
  assert.deepEqual(treeOf(target), treeOf(join(project, "node_modules")));
  const identities = ["a/index.js", "b/deep/c.js", "main.js"].map((f) => identity(join(target, f)));

  await kept.park();
  assert.equal(existsSync(target), false, "out of the next run's sight until it is put back");
  await restore();
  assert.deepEqual(treeOf(target), treeOf(join(project, "node_modules")));
  assert.deepEqual(
    ["a/index.js", "b/deep/c.js", "main.js"].map((f) => identity(join(target, f))),
    identities,
    "the same files, not copies",
  );

  // Taken, it is recorded again: the run after takes it too.
  await kept.park();
  await restore();
  assert.equal(identity(join(target, "a/index.js")), identities[0]);
});

test("whatever a step did to the kept copy is undone when it is taken; the rest is not copied again", async () => {
  const { project, root, kept, restore } = await setup();
  const outside = dirs.dir("outside");
  writeFiles(outside, { "secret.txt": "not quire's\n" });
  await restore();
  const target = join(root, "node_modules");
  const untouched = identity(join(target, "a/package.json"));

  rewriteKeepingTimes(join(target, "a/index.js"), "module.exports = 'A';\n");
  writeFileSync(join(target, "a/added.js"), "added by a step\n");
  rmSync(join(target, "b/deep/c.js"));
  rmSync(join(target, "b/deep"), { recursive: true });
  symlinkSync(outside, join(target, "b/deep"));
  chmodSync(join(target, "b/lib.js"), 0o600);
  rmSync(join(target, "main.js"));
  symlinkSync(join(outside, "secret.txt"), join(target, "main.js"));

  await kept.park();
  await restore();
  assert.deepEqual(treeOf(target), treeOf(join(project, "node_modules")), "exactly the entry");
  assert.equal(identity(join(target, "a/package.json")), untouched, "what no step touched was taken, not copied");
  assert.deepEqual(readdirSync(outside), ["secret.txt"], "nothing outside changed");
  assert.equal(readFileSync(join(outside, "secret.txt"), "utf8"), "not quire's\n");
});

test("a file another job writes while the entry is being put back is copied from the entry when taken", async () => {
  // Enough files that the put-back takes a while after the one written is there.
  const files = { ...MODULES, ...Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`node_modules/z/f${i}.js`, `${i}\n`])) };
  const { project, root, kept, restore } = await setup("busy", files);
  const file = join(root, "node_modules/a/index.js");
  // Another job of the run, its steps in the same workspace, rewrites the file (same size) once it is there.
  let restoring = true;
  const writer = (async () => {
    while (restoring && !existsSync(file)) await new Promise((resolve) => setImmediate(resolve));
    if (restoring) writeFileSync(file, "module.exports = 'X';\n");
  })();
  await restore();
  restoring = false;
  await writer;
  await kept.park();
  await restore();
  assert.deepEqual(treeOf(join(root, "node_modules")), treeOf(join(project, "node_modules")), "exactly the entry");
});

test("a file changed in the tick its record was written is not trusted: copied again", async () => {
  const { root, state, kept, restore } = await setup();
  await restore();
  const target = join(root, "node_modules");
  const before = identity(join(target, "a/index.js"));
  // As though the record had been written before the copy: every time in the tree is then no earlier.
  const records = join(state, "put-back");
  for (const name of readdirSync(records)) utimesSync(join(records, name), 1, 1);
  // The copy that replaces a file may be given its inode number: a later clock tick tells them apart.
  await sleep(20);
  await kept.park();
  await restore();
  assert.notEqual(identity(join(target, "a/index.js")), before);
  assert.equal(readFileSync(join(target, "a/index.js"), "utf8"), MODULES["node_modules/a/index.js"]);
});

test("a file or directory of any name is taken back, __proto__ included (no name is an object's property of its own)", async () => {
  const files = { "node_modules/__proto__/index.js": "proto\n", "node_modules/__proto__.js": "file\n", "node_modules/a.js": "a\n" };
  const { project, root, kept, restore } = await setup("names", files);
  await restore();
  const target = join(root, "node_modules");
  await kept.park();
  await restore();
  assert.deepEqual(treeOf(target), treeOf(join(project, "node_modules")));
  await kept.park();
  await restore();
  assert.deepEqual(treeOf(target), treeOf(join(project, "node_modules")), "and taken again from what the take recorded");
});

test("a path put back under directories the restore makes is kept too", async () => {
  const { caches, root, kept } = await setup();
  const sub = join(root, "not-there-yet", "deeper");
  const restore = () => caches.restore("/repo", { key: "deps-1", paths: ["node_modules"], restoreKeys: [] }, sub, { kept });
  await restore();
  const made = identity(join(sub, "node_modules/a/index.js"));
  await kept.park();
  await restore();
  assert.equal(identity(join(sub, "node_modules/a/index.js")), made);
});

test("another entry of the same path, or something already at the path: copied, the kept copy not taken", async () => {
  const { caches, project, root, kept, restore } = await setup();
  await restore();
  const target = join(root, "node_modules");
  const first = identity(join(target, "a/package.json"));
  await kept.park();

  writeFiles(project, { "node_modules/a/index.js": "module.exports = 'v2';\n" });
  await caches.save("/repo", { key: "deps-2", paths: ["node_modules"] }, project, Date.now());
  assert.deepEqual(await restore("deps-2"), { hit: "exact", key: "deps-2" });
  assert.notEqual(identity(join(target, "a/package.json")), first);
  assert.equal(readFileSync(join(target, "a/index.js"), "utf8"), "module.exports = 'v2';\n");

  await kept.park();
  mkdirSync(target);
  writeFileSync(join(target, "mine.js"), "the step's own\n");
  const source = join(dirs.dir("elsewhere"), "node_modules");
  assert.equal(await kept.take("deps/any@1", source, target), false);
  assert.deepEqual(readdirSync(target), ["mine.js"]);
});

test("a path a step moved out of the workspace through a link is neither parked from nor taken into", async () => {
  const { root, state, kept, caches, project } = await setup();
  // The entry restored under a subdirectory, which a step then swaps for a link to elsewhere.
  const sub = join(root, "sub");
  mkdirSync(sub);
  await caches.restore("/repo", { key: "deps-1", paths: ["node_modules"], restoreKeys: [] }, sub, { kept });
  const outside = dirs.dir("outside");
  rmSync(sub, { recursive: true });
  writeFiles(outside, { "node_modules/theirs.js": "someone else's\n" });
  symlinkSync(outside, sub);
  await kept.park();
  assert.deepEqual(readdirSync(join(outside, "node_modules")), ["theirs.js"], "nothing moved from outside");
  assert.equal(existsSync(join(state, "parked")) && readdirSync(join(state, "parked")).length > 0, false);
  assert.equal(await kept.take("deps/any@1", join(project, "node_modules"), join(sub, "node_modules")), false);
});

test("a record's write cut short by a crash (its `.new` beside it) is never read: the path is parked and taken by its record", async () => {
  const { project, root, state, kept, restore } = await setup();
  await restore();
  const target = join(root, "node_modules");
  const made = identity(join(target, "a/index.js"));
  const [record] = readdirSync(join(state, "put-back"));
  writeFileSync(join(state, "put-back", `${record}.new`), '{"entries":["deps/any@1"],"path":"node_');
  await kept.park();
  assert.deepEqual(readdirSync(join(state, "put-back")), [], "the half-written record went with the park");
  await restore();
  assert.equal(identity(join(target, "a/index.js")), made);
  assert.deepEqual(treeOf(target), treeOf(join(project, "node_modules")));
});

test("at most four parked copies, the most recently recorded; one whose record a crash cut short goes", async () => {
  const files = Object.fromEntries(["p1", "p2", "p3", "p4", "p5"].map((p) => [`${p}/file.txt`, `${p}\n`]));
  const { state, kept, restore } = await setup("five", files);
  await restore();
  // Recorded one second apart, p1 first.
  const records = join(state, "put-back");
  for (const name of readdirSync(records)) {
    const { path } = JSON.parse(readFileSync(join(records, name), "utf8")) as { path: string };
    const at = 1_700_000_000 + Number(path.slice(1));
    utimesSync(join(records, name), at, at);
  }
  mkdirSync(join(state, "parked", "cut-short", "tree"), { recursive: true });
  await kept.park();
  const parked = readdirSync(join(state, "parked")).map(
    (name) => (JSON.parse(readFileSync(join(state, "parked", name, "manifest.json"), "utf8")) as { path: string }).path,
  );
  assert.deepEqual(parked.sort(), ["p2", "p3", "p4", "p5"]);
});

describe("what a job saved from the workspace", () => {
  /**
   * A workspace where a step made MODULES a moment ago (as an install would: what changed in the clock
   * tick a save begins in is not trusted), and a restore and a save of a key into and from it.
   */
  async function workspace() {
    const caches = new DependencyCaches(dirs.dir("cache"));
    const state = dirs.dir("run");
    const root = join(state, "checkout");
    writeFiles(root, MODULES);
    await sleep(20);
    const kept = new KeptOutputs(root, state);
    const restore = (key: string) => caches.restore("/repo", { key, paths: ["node_modules"], restoreKeys: [] }, root, { kept });
    const save = (key: string, keeper: OutputsKeeper = kept) =>
      caches.save("/repo", { key, paths: ["node_modules"] }, root, Date.now(), { kept: keeper });
    return { caches, root, kept, restore, save, target: join(root, "node_modules") };
  }

  test("is kept as a copy of the entry: the next restore of it takes the very files", async () => {
    const { kept, restore, save, target } = await workspace();
    const made = identity(join(target, "b/deep/c.js"));
    assert.equal(await save("deps-1"), "saved");
    await kept.park();
    await restore("deps-1");
    assert.equal(identity(join(target, "b/deep/c.js")), made);
    assert.equal(readFileSync(join(target, "a/index.js"), "utf8"), MODULES["node_modules/a/index.js"]);
  });

  test("a file written as the save begins is copied again; the directory it is in, and the rest, are taken", async () => {
    const { kept, restore, save, target } = await workspace();
    const made = identity(join(target, "a/index.js"));
    writeFileSync(join(target, "late.js"), "written last by the install\n");
    await save("deps-1");
    await kept.park();
    await restore("deps-1");
    assert.equal(identity(join(target, "a/index.js")), made, "taken: node_modules itself was trusted");
    assert.equal(readFileSync(join(target, "late.js"), "utf8"), "written last by the install\n");
  });

  test("saved as two entries with nothing changed between: a copy of either; with a change between: of the last only", async () => {
    const { kept, restore, save, target } = await workspace();
    await save("deps-a");
    await save("deps-b");
    const before = identity(join(target, "b/lib.js"));
    await kept.park();
    await restore("deps-a");
    assert.equal(identity(join(target, "b/lib.js")), before, "taken for the first entry");

    writeFileSync(join(target, "a/index.js"), "module.exports = 'changed';\n");
    await save("deps-c");
    await kept.park();
    await restore("deps-a");
    assert.equal(readFileSync(join(target, "a/index.js"), "utf8"), MODULES["node_modules/a/index.js"], "deps-a's own content");
    assert.notEqual(identity(join(target, "b/lib.js")), before, "copied: the kept copy is deps-c's, not deps-a's");
  });

  test("a file hard-linked with one outside the workspace is copied from the entry when taken, not taken as that file", async () => {
    const { kept, restore, save, target } = await workspace();
    const outside = dirs.dir("outside");
    writeFiles(outside, { "shared.js": "exports.shared = 1;\n" });
    // As a package manager installing from its store does: the installed file is the store's own.
    linkSync(join(outside, "shared.js"), join(target, "a/shared.js"));
    await clockPast(join(target, "a/shared.js"));
    assert.equal(await save("deps-1"), "saved");
    const untouched = identity(join(target, "a/package.json"));
    await kept.park();
    await restore("deps-1");
    assert.equal(identity(join(target, "a/package.json")), untouched, "the rest taken");
    assert.equal(lstatSync(join(target, "a/shared.js")).nlink, 1, "a copy of the entry's, not the file outside");
    writeFileSync(join(target, "a/shared.js"), "written by the next run's step\n");
    assert.equal(readFileSync(join(outside, "shared.js"), "utf8"), "exports.shared = 1;\n", "nothing outside written through the link");
  });

  test("a directory whose mode the entry's copy of it does not have (a save makes directories anew) is the entry's when taken", async () => {
    const { caches, kept, restore, save, target } = await workspace();
    // As Go's module cache is: read-only directories.
    chmodSync(join(target, "b/deep"), 0o555);
    await clockPast(join(target, "b/deep"));
    assert.equal(await save("deps-1"), "saved");
    const entry = join(dirs.dir("restored"), "copy");
    await caches.restore("/repo", { key: "deps-1", paths: ["node_modules"], restoreKeys: [] }, entry);
    await kept.park();
    await restore("deps-1");
    assert.deepEqual(treeOf(target), treeOf(join(entry, "node_modules")), "the modes a copy of the entry has");
  });

  test("a file a step changes while it is being saved is copied from the entry when taken", async () => {
    const { kept, restore, save, target } = await workspace();
    // A concurrent step rewrites a file after it was copied into the entry (same size, times set back).
    const meddling: OutputsKeeper = {
      take: (...args) => kept.take(...args),
      putBack: (...args) => kept.putBack(...args),
      survey: (path) => kept.survey(path),
      saved: async (entry, saved, path, before) => {
        rewriteKeepingTimes(join(target, "a/index.js"), "module.exports = 'X';\n");
        await kept.saved(entry, saved, path, before);
      },
    };
    await save("deps-1", meddling);
    const untouched = identity(join(target, "a/package.json"));
    await kept.park();
    await restore("deps-1");
    assert.equal(readFileSync(join(target, "a/index.js"), "utf8"), MODULES["node_modules/a/index.js"], "the entry's, not the step's");
    assert.equal(identity(join(target, "a/package.json")), untouched, "the rest taken");
  });
});
