// quirectl doctor shows what quire keeps on disk and where: the store, the logs, the workspaces, the
// caches, quire's git stores, the actions and the daemon's log, each with its path and size.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { RunStore } from "../../src/ci/store/index.js";
import { seedCacheEntry, seedRuns } from "../ci/gc/seed.js";
import { tempHome } from "../helpers/daemon.js";
import { quirectl } from "../helpers/quirectl.js";

const home = tempHome();
after(() => rmSync(home, { recursive: true, force: true }));

test("doctor lists each part of QUIRE_HOME with its size and where it is, without starting the daemon", async () => {
  const store = RunStore.open(join(home, "quire.db"));
  seedRuns(store, join(home, "logs"), 3, { from: Date.now(), logBytes: 10_000 });
  store.close();
  mkdirSync(join(home, "work", "7"), { recursive: true });
  writeFileSync(join(home, "work", "7", "big.bin"), Buffer.alloc(50_000));
  seedCacheEntry(join(home, "cache"), "deps/app/key", Date.now(), 20_000);

  const r = await quirectl(home, ["doctor", "--json"]);
  const report = JSON.parse(r.stdout);
  const part = (name: string) => report.disk.parts.find((p: { name: string }) => p.name === name);
  assert.deepEqual(
    report.disk.parts.map((p: { name: string }) => p.name),
    ["store", "logs", "workspaces", "caches", "git", "actions", "daemon log"],
  );
  assert.deepEqual(part("logs"), { name: "logs", path: join(home, "logs"), bytes: 30_000 });
  assert.deepEqual(part("workspaces"), { name: "workspaces", path: join(home, "work"), bytes: 50_000 });
  assert.ok(part("caches").bytes > 20_000 && part("caches").path === join(home, "cache"));
  assert.ok(part("store").bytes > 0 && part("store").path === join(home, "quire.db"));
  assert.equal(part("git").bytes, 0, "a part that is not there holds nothing");
  assert.equal(
    report.disk.bytes,
    report.disk.parts.reduce((sum: number, p: { bytes: number }) => sum + p.bytes, 0),
  );
  assert.equal(report.disk.dir, home);

  const text = await quirectl(home, ["doctor"]);
  assert.match(text.stdout, new RegExp(`^quire keeps [\\d.]+ [KM]iB in ${home}:$`, "m"));
  assert.match(text.stdout, new RegExp(`^ {2}logs +29\\.3 KiB {2}${join(home, "logs")}$`, "m"));
  assert.match(text.stdout, /quirectl gc --dry-run/);
});
