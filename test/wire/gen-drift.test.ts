// src/gen is generated from proto/ and checked in; this fails when the two have drifted apart.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { after, test } from "node:test";
import { repoRoot } from "../helpers/paths.js";

const out = mkdtempSync(join(tmpdir(), "quire-gen-"));
after(() => rmSync(out, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

test("src/gen matches what `npm run gen` makes from proto/", () => {
  execFileSync(process.execPath, [join(repoRoot, "scripts", "gen.mjs"), "--out", out], { cwd: repoRoot, stdio: "pipe" });
  const checkedIn = join(repoRoot, "src", "gen");
  const fresh = files(out)
    .map((f) => relative(out, f))
    .sort();
  assert.deepEqual(
    files(checkedIn)
      .map((f) => relative(checkedIn, f))
      .sort(),
    fresh,
    "the same files",
  );
  for (const file of fresh) {
    assert.equal(readFileSync(join(checkedIn, file), "utf8"), readFileSync(join(out, file), "utf8"), `${file} is stale: run npm run gen`);
  }
});
