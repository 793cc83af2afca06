// The CI layer's rules live in src/ci/rules.ts, once. The store's migrations keep their own literals (a
// published migration never changes), so these tests hold each CHECK to its constant, and keep the secret
// name's pattern from being written again elsewhere in src/.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, test } from "node:test";
import Database from "better-sqlite3";
import { ANNOTATION_MAX, IDEMPOTENCY_KEY_MAX, SECRET_NAME, SUMMARY_MAX, TRIGGER_NAME } from "../../src/ci/rules.js";
import { migrations } from "../../src/ci/store/migrations/index.js";
import { repoRoot } from "../helpers/paths.js";

const schema = migrations.map((m) => m.up).join("\n");
const db = new Database(":memory:");
db.exec(schema);
after(() => db.close());

/** The number in the one CHECK of the migrations that `pattern` finds. */
function checkNumber(pattern: RegExp): number {
  const found = [...schema.matchAll(pattern)];
  assert.equal(found.length, 1, `one CHECK matching ${pattern}`);
  return Number(found[0]![1]);
}

test("SUMMARY_MAX is the CHECK on failure_summary", () => {
  assert.equal(checkNumber(/CHECK \(length\(failure_summary\) <= (\d+)\)/g), SUMMARY_MAX);
});

test("ANNOTATION_MAX is the CHECK on an annotation's text", () => {
  assert.equal(checkNumber(/CHECK \(length\(text\) BETWEEN 1 AND (\d+)\)/g), ANNOTATION_MAX);
});

test("IDEMPOTENCY_KEY_MAX is the CHECK on a run's idempotency key", () => {
  assert.equal(checkNumber(/CHECK \(length\(idempotency_key\) BETWEEN 1 AND (\d+)\)/g), IDEMPOTENCY_KEY_MAX);
});

test("the store's CHECK on secret names takes exactly the names SECRET_NAME takes", () => {
  const insert = db.prepare("INSERT INTO secrets (name, nonce, box, updated_at) VALUES (?, zeroblob(24), zeroblob(16), 0)");
  const names = ["A", "_", "NPM_TOKEN", "A1", "_9", "Z_Z", "", "1A", "a", "Ab", "A-B", "A B", "ÄB", "A.B", "A\n"];
  for (const name of names) {
    let stored = true;
    try {
      insert.run(name);
    } catch {
      stored = false;
    }
    assert.equal(stored, SECRET_NAME.test(name), JSON.stringify(name));
  }
});

test("the secret name's pattern is written once in src/, in rules.ts", () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
    );
  const holders = files(join(repoRoot, "src")).filter((file) => readFileSync(file, "utf8").includes("[A-Z_][A-Z0-9_]"));
  assert.deepEqual(
    holders.map((file) => relative(repoRoot, file)),
    [join("src", "ci", "rules.ts")],
  );
});

test("the store's CHECK on what triggered a run takes exactly the names TRIGGER_NAME takes", () => {
  // Cancelled runs: one live run per (repo, ref, pipeline) would refuse the second insert for another reason.
  const insert =
    db.prepare(`INSERT INTO runs (repo, ref, pipeline, pipeline_file, spec, state, created_at, finished_at, dirty, workspace, triggered_by)
    VALUES ('/r', 'main', 'p', 'quire.yml', '{}', 'cancelled', 0, 0, 0, '.', ?)`);
  const names = [
    "manual",
    "post-commit",
    "pre-push",
    "watch",
    "a",
    "0",
    "x".repeat(32),
    "x".repeat(33),
    "",
    "Post",
    "a b",
    "a_b",
    "a.b",
    "é",
    "a\n",
  ];
  for (const name of names) {
    let stored = true;
    try {
      insert.run(name);
    } catch {
      stored = false;
    }
    assert.equal(stored, TRIGGER_NAME.test(name), JSON.stringify(name));
  }
});
