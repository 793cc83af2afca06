// Error codes are a contract: once published, a code keeps its meaning and is never reused. There is one
// table of them, ERROR_CODES in src/errors.ts, shown to people in docs/errors.md. These tests hold the
// table, the page and the sources together: a code added to the table needs its row on the page, a code
// on the page must be in the table (or retired), a code of the table must be raised somewhere in src/,
// and src/ may use no code the table lacks. A code leaves the table only by moving to RETIRED_CODES.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { ERROR_CODES, RETIRED_CODES } from "../src/errors.js";
import { CiErrorCode, PtyErrorCode, WebErrorCode } from "../src/wire/error-codes.js";
import { repoRoot } from "./helpers/paths.js";

const TABLE_FILE = join(repoRoot, "src", "errors.ts");
const tableCodes = Object.keys(ERROR_CODES);
const retiredCodes = Object.keys(RETIRED_CODES);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "gen" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every quoted QUIRE_ERR_* string in src/ outside the table itself, with the files that hold it. */
function usedCodes(): Map<string, string[]> {
  const used = new Map<string, string[]>();
  for (const file of sources(join(repoRoot, "src"))) {
    if (file === TABLE_FILE) continue;
    for (const m of readFileSync(file, "utf8").matchAll(/["'`](QUIRE_ERR_[A-Z0-9_]+)["'`]/g)) {
      used.set(m[1]!, [...(used.get(m[1]!) ?? []), relative(repoRoot, file)]);
    }
  }
  return used;
}

/** The rows of docs/errors.md, by code: the codes' table, then the retired codes' (after its heading). */
function documented(): { current: Map<string, string>; retired: Map<string, string> } {
  const text = readFileSync(join(repoRoot, "docs", "errors.md"), "utf8");
  const at = text.indexOf("\n## Retired codes\n");
  assert.ok(at > 0, "docs/errors.md has a section `## Retired codes`");
  const rows = (part: string) => new Map([...part.matchAll(/^\| `(QUIRE_ERR_[A-Z0-9_]+)` \|.*$/gm)].map((m) => [m[1]!, m[0]]));
  return { current: rows(text.slice(0, at)), retired: rows(text.slice(at)) };
}

function docRow(code: keyof typeof ERROR_CODES): string {
  const { layer, means, action } = ERROR_CODES[code];
  return `| \`${code}\` | ${layer} | ${means} | ${action} |`;
}

test("every code of the table has its row in docs/errors.md, word for word", () => {
  const { current } = documented();
  const wrong = tableCodes.filter((code) => current.get(code) !== docRow(code as keyof typeof ERROR_CODES));
  assert.deepEqual(
    wrong.map((code) => docRow(code as keyof typeof ERROR_CODES)),
    [],
    "docs/errors.md lacks these rows (or words them otherwise): write them as shown",
  );
});

test("docs/errors.md documents only codes of the table, and every retired code as retired", () => {
  const { current, retired } = documented();
  assert.deepEqual(
    [...current.keys()].filter((code) => !tableCodes.includes(code)),
    [],
    "documented codes the table does not have: a code leaves the table only by moving to RETIRED_CODES",
  );
  for (const code of retiredCodes) {
    assert.equal(
      retired.get(code),
      `| \`${code}\` | ${RETIRED_CODES[code as keyof typeof RETIRED_CODES]} |`,
      `${code}'s row among the retired codes`,
    );
  }
  assert.deepEqual(
    [...retired.keys()].filter((code) => !retiredCodes.includes(code)),
    [],
    "retired on the page but not in RETIRED_CODES",
  );
});

test("every code of the table is raised somewhere in src/", () => {
  const used = usedCodes();
  assert.deepEqual(
    tableCodes.filter((code) => !used.has(code)),
    [],
    "codes no source uses: retire them (RETIRED_CODES), never delete them",
  );
});

test("src/ uses only codes of the table, and no retired one", () => {
  const strays = [...usedCodes()].filter(([code]) => !tableCodes.includes(code)).map(([code, files]) => `${code} in ${files.join(", ")}`);
  assert.deepEqual(
    strays,
    [],
    "add the code to ERROR_CODES in src/errors.ts (and its row to docs/errors.md); a retired code is never used again",
  );
});

test("a retired code is never back in the table, and the ones retired stay retired", () => {
  assert.deepEqual(
    retiredCodes.filter((code) => tableCodes.includes(code)),
    [],
  );
  for (const code of ["QUIRE_ERR_PIPELINE_CYCLE", "QUIRE_ERR_STORE_UNKNOWN_RUN"]) assert.ok(retiredCodes.includes(code), code);
});

test("the pty, ci and web services' wire codes are codes of the table, each once", () => {
  for (const table of [PtyErrorCode, CiErrorCode, WebErrorCode]) {
    const values: string[] = Object.values(table);
    assert.equal(new Set(values).size, values.length);
    for (const code of values) assert.ok(tableCodes.includes(code), code);
  }
});
