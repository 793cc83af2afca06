// Which symlinks of a workspace lead out of it: absolute ones and relative ones that climb above the
// root, wherever they are in the tree; links that stay inside, and the files behind a directory link, are not.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { findEscapingLinks } from "../../../src/ci/runner/escaping-links.js";

const root = mkdtempSync(join(tmpdir(), "quire-links-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("absolute links and links climbing above the root are found; links inside are not", async () => {
  mkdirSync(join(root, "a", "b"), { recursive: true });
  writeFileSync(join(root, "a", "file"), "");
  const links: Record<string, string> = {
    abs: "/etc/hostname",
    "a/up": "../../outside",
    "a/b/deep": "../../../x",
    "a/b/via-dot": "./../../..",
    top: "..",
    // Inside: these stay.
    "a/sibling": "file",
    "a/b/back": "../file",
    "a/b/root": "../..",
    "dir-link": "a",
    dangling: "missing/inside",
  };
  for (const [path, target] of Object.entries(links)) symlinkSync(target, join(root, path));
  const found = await findEscapingLinks(root, 100);
  assert.deepEqual(found.map((l) => `${l.path} -> ${l.target}`).sort(), [
    "a/b/deep -> ../../../x",
    "a/b/via-dot -> ./../../..",
    "a/up -> ../../outside",
    "abs -> /etc/hostname",
    "top -> ..",
  ]);
  assert.equal((await findEscapingLinks(root, 2)).length, 2, "at most `limit` of them");
});
