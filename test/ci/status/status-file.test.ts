// The status file a shell prompt reads: its name is the repository's path with two substitutions a shell
// can make, its lines the newest run's state per ref, written whole (aside, then renamed).
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import {
  parseStatus,
  readStatusFile,
  refStatuses,
  statusFileName,
  statusText,
  writeStatusFile,
} from "../../../src/ci/status/status-file.js";

const dir = mkdtempSync(join(tmpdir(), "quire-status-"));
after(() => rmSync(dir, { recursive: true, force: true }));

test("the name: % as %25, / as %2F, so that two repositories never share a file", () => {
  assert.equal(statusFileName("/home/me/app"), "%2Fhome%2Fme%2Fapp");
  assert.equal(statusFileName("/a/100%/b"), "%2Fa%2F100%25%2Fb");
  assert.notEqual(statusFileName("/a/%2F"), statusFileName("/a//"));
  assert.equal(statusFileName(`/${"x".repeat(300)}`), undefined, "too long for a file name");
});

test("each ref's state: running while any pipeline's newest run is, else failed when any failed", () => {
  const refs = refStatuses([
    { id: 1, ref: "main", state: "complete" },
    { id: 2, ref: "main", state: "failed" },
    { id: 3, ref: "dev", state: "complete" },
    { id: 4, ref: "main", state: "complete" },
    { id: 5, ref: "dev", state: "active" },
    { id: 6, ref: "has space", state: "failed" },
  ]);
  assert.deepEqual(refs, [
    { ref: "dev", state: "active", run: 5 },
    { ref: "main", state: "failed", run: 2 },
  ]);
  assert.deepEqual(parseStatus(statusText(refs)), refs);
  assert.equal(statusText(refs), "quire-status 1\ndev active 5\nmain failed 2\n");
  assert.equal(parseStatus("something else\n"), undefined);
});

test("written whole and read back; nothing left aside", () => {
  writeStatusFile(dir, "/src/app", [{ ref: "main", state: "complete", run: 1 }]);
  writeStatusFile(dir, "/src/app", [{ ref: "main", state: "pending", run: 2 }]);
  assert.deepEqual(readStatusFile(dir, "/src/app"), [{ ref: "main", state: "pending", run: 2 }]);
  assert.deepEqual(readdirSync(dir), ["%2Fsrc%2Fapp"]);
  assert.equal(readStatusFile(dir, "/elsewhere"), undefined);
});
