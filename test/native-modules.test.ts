// npm ci must leave working native modules (both compile from source here): load them and use them.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";

const require = createRequire(import.meta.url);
const dir = mkdtempSync(join(tmpdir(), "quire-native-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("better-sqlite3 opens a real database file in WAL mode", () => {
  const Database = require("better-sqlite3") as typeof import("better-sqlite3");
  const db = new Database(join(dir, "check.db"));
  try {
    assert.equal(db.pragma("journal_mode = WAL", { simple: true }), "wal");
    db.exec("CREATE TABLE runs (id INTEGER PRIMARY KEY, state TEXT NOT NULL CHECK (state IN ('pending', 'active')))");
    db.prepare("INSERT INTO runs (state) VALUES (?)").run("pending");
    assert.throws(() => db.prepare("INSERT INTO runs (state) VALUES (?)").run("bogus"), /CHECK constraint failed/);
    assert.deepEqual(db.prepare("SELECT id, state FROM runs").all(), [{ id: 1, state: "pending" }]);
  } finally {
    db.close();
  }
});

test("node-pty's native module and spawn helper load", () => {
  const utils = require("node-pty/lib/utils.js") as { loadNativeModule(name: string): { module: { fork?: unknown } } };
  assert.equal(typeof utils.loadNativeModule("pty").module.fork, "function");
});
