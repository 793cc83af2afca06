// Spare workspaces (a finished run's checkout, restored and kept for its working copy's next run) are
// bounded: the most recently used few are kept, and the spare of a working copy that is gone goes.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { ObjectStores } from "../../../src/ci/workspace/object-stores.js";
import { snapshotSource } from "../../../src/ci/workspace/snapshot.js";
import { Workspaces } from "../../../src/ci/workspace/workspaces.js";
import { tempRepos } from "../../helpers/git.js";

const repos = tempRepos();

function spares(workspaces: Workspaces): string[] {
  return readdirSync(workspaces.root).filter((name) => name.startsWith(".spare-"));
}

// The working copies the spares were made of, from their records.
function sources(workspaces: Workspaces): string[] {
  return spares(workspaces)
    .map((name) => (JSON.parse(readFileSync(join(workspaces.root, name, "workspace.json"), "utf8")) as { source: string }).source)
    .sort();
}

test("at most keepSpares spares are kept, the least recently used going first, and a gone working copy's goes", async () => {
  const home = repos.dir("home");
  const stores = new ObjectStores(join(home, "git"));
  const workspaces = new Workspaces(join(home, "work"), { stores, keepSpares: 2 });
  const copies = [0, 1, 2].map((i) => repos.make({ "a.txt": `copy ${i}\n` }));
  let id = 0;
  const runOf = async (repo: string) => {
    await workspaces.create(++id, await snapshotSource(repo, { stores }));
    await workspaces.release(id, false);
  };
  for (const repo of copies) await runOf(repo);
  assert.equal(spares(workspaces).length, 2, "three working copies, two spares");
  // The oldest (copy 0) went: its next run is made afresh, and then copy 1's spare is the oldest.
  writeFileSync(join(copies[0]!, "a.txt"), "changed\n");
  await runOf(copies[0]!);
  assert.equal(spares(workspaces).length, 2);
  assert.deepEqual(sources(workspaces), [copies[0], copies[2]].sort(), "copy 1's spare, the least recently used, went");
  // Copy 2 is removed from the disk: its spare is over, as gone, and goes when asked.
  rmSync(copies[2]!, { recursive: true, force: true });
  const over = await workspaces.sparesOver();
  assert.deepEqual(
    over.map((s) => [s.source, s.reason]),
    [[copies[2], "gone"]],
  );
  await workspaces.dropSpares(over);
  assert.equal(spares(workspaces).length, 1);
  assert.deepEqual(await workspaces.sparesOver(), []);
});

test("keepSpares 0 keeps none", async () => {
  const home = repos.dir("home");
  const stores = new ObjectStores(join(home, "git"));
  const workspaces = new Workspaces(join(home, "work"), { stores, keepSpares: 0 });
  const repo = repos.make({ "a.txt": "a\n" });
  await workspaces.create(1, await snapshotSource(repo, { stores }));
  await workspaces.release(1, false);
  assert.deepEqual(spares(workspaces), []);
});

test("a stage asked for while the working copy's last workspace is being released takes the spare it becomes", async () => {
  const home = repos.dir("home");
  const stores = new ObjectStores(join(home, "git"));
  const workspaces = new Workspaces(join(home, "work"), { stores });
  const files = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`d${i % 10}/f${i}.txt`, `file ${i}\n`]));
  const repo = repos.make(files);
  const first = await workspaces.stage(await snapshotSource(repo, { stores }));
  first.place(1);
  const unchanged = statSync(join(workspaces.path(1), "d3", "f3.txt")).ino;
  writeFileSync(join(repo, "d0", "f0.txt"), "changed\n");
  const snapshot = await snapshotSource(repo, { stores });
  // The run ends and its release starts; the next run's stage comes before it is done, as a watch's does.
  const released = workspaces.release(1, false);
  const next = await workspaces.stage(snapshot);
  await released;
  // Taken over, not checked out afresh: the file that did not change is the same file.
  assert.equal(statSync(join(next.root, "d3", "f3.txt")).ino, unchanged);
  assert.equal(readFileSync(join(next.root, "d0", "f0.txt"), "utf8"), "changed\n");
  next.place(2);
  await workspaces.release(2, false);
});

test("a stage waits for its working copy's spare to be in place, not for what that release does after (dropping a gone one's)", async () => {
  const home = repos.dir("home");
  // Letting go of a dropped spare's refs waits until the stage under test is done: a stage that waited
  // for the whole release would wait for itself (and the test would time out).
  let stageDone = () => {};
  const staged = new Promise<void>((resolve) => {
    stageDone = resolve;
  });
  let gated = false;
  class GatedStores extends ObjectStores {
    override async forget(kept: Parameters<ObjectStores["forget"]>[0]): Promise<void> {
      if (gated) await staged;
      return super.forget(kept);
    }
  }
  const stores = new GatedStores(join(home, "git"));
  const workspaces = new Workspaces(join(home, "work"), { stores });
  const other = repos.make({ "a.txt": "other\n" });
  await workspaces.create(1, await snapshotSource(other, { stores }));
  await workspaces.release(1, false);
  const repo = repos.make({ "d0/f0.txt": "0\n", "d3/f3.txt": "3\n" });
  await workspaces.create(2, await snapshotSource(repo, { stores }));
  const unchanged = statSync(join(workspaces.path(2), "d3", "f3.txt")).ino;
  writeFileSync(join(repo, "d0", "f0.txt"), "changed\n");
  const snapshot = await snapshotSource(repo, { stores });
  gated = true;
  // The other working copy is gone: once this release has made its spare, it drops the other's.
  rmSync(other, { recursive: true, force: true });
  const released = workspaces.release(2, false);
  const next = await workspaces.stage(snapshot);
  stageDone();
  await released;
  assert.equal(statSync(join(next.root, "d3", "f3.txt")).ino, unchanged, "the spare, taken");
  assert.deepEqual(sources(workspaces), [], "the other working copy's spare went");
  next.place(3);
  gated = false;
  await workspaces.release(3, false);
});
