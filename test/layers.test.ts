// The layering of src/ (ARCHITECTURE.md, "Layout, and why imports point down only"): imports point down only. Every relative import in
// src/ is read from the sources and checked against the rules below, so a module that reaches into a
// layer it must not know fails here, with the offending file and import named.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { test } from "node:test";
import { repoRoot } from "./helpers/paths.js";

const src = join(repoRoot, "src");

/** For each layer (a folder of src/, or a top-level file by its name), the layers it may import besides itself. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  gen: [],
  errors: [],
  version: [],
  wire: ["gen", "errors"],
  runtime: ["errors"],
  core: ["wire", "gen", "errors", "version"],
  client: ["core", "wire", "gen", "errors", "version"],
  broker: ["core", "wire", "gen", "errors", "version"],
  backend: ["core", "wire", "gen", "runtime", "errors", "version", "ci", "web"],
  // The runs page: a client of the ci service; of the CI layer it reads the log files and the settings, never the store.
  web: ["client", "core", "wire", "gen", "errors", "version", "ci"],
  ci: ["runtime", "errors"],
  cli: ["client", "broker", "backend", "core", "wire", "gen", "runtime", "ci", "errors", "version"],
  // Entry points: the package's public faces.
  index: ["client", "runtime", "wire", "errors"],
};

/** Packages only some layers may load: node-pty is the runtime's (quired must never load it). */
const PACKAGE_OWNERS: Record<string, readonly string[]> = {
  "node-pty": ["runtime"],
  "better-sqlite3": ["ci"],
  "@xterm/headless": ["ci"],
  yaml: ["ci"],
  "@actions/expressions": ["ci"],
  "log-update": ["cli"],
};

interface Import {
  file: string;
  specifier: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, "utf8");
  const pattern =
    /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*["']([^"']+)["']|(?:^|\n)\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/g;
  return [...text.matchAll(pattern)].map((m) => ({ file, specifier: (m[1] ?? m[2] ?? m[3])! }));
}

/** src/wire/x.ts -> "wire"; src/errors.ts -> "errors". */
function layerOf(path: string): string {
  const parts = relative(src, path).split(/[\\/]/);
  return parts.length === 1 ? parts[0]!.replace(/\.[jt]s$/, "") : parts[0]!;
}

const files = sources(src).filter((f) => layerOf(f) !== "gen");
const imports = files.flatMap(importsOf);

test("the import scan sees the sources", () => {
  assert.ok(files.length > 40, `only ${files.length} source files found under ${src}`);
  assert.ok(imports.length > 150, `only ${imports.length} imports found`);
});

test("every layer of src/ has a rule", () => {
  const unknown = [...new Set(files.map(layerOf))].filter((layer) => !(layer in MAY_IMPORT));
  assert.deepEqual(unknown, [], "give each new folder of src/ a line in MAY_IMPORT");
});

test("imports point down only", () => {
  const violations: string[] = [];
  for (const { file, specifier } of imports) {
    if (!specifier.startsWith(".")) continue;
    const from = layerOf(file);
    const to = layerOf(resolve(dirname(file), specifier));
    if (to === from || MAY_IMPORT[from]?.includes(to)) continue;
    violations.push(`${relative(repoRoot, file)} (${from}) imports ${specifier} (${to})`);
  }
  assert.deepEqual(violations, []);
});

test("nothing in src/ imports the CLI", () => {
  const offenders = imports.filter(
    ({ file, specifier }) => specifier.startsWith(".") && layerOf(file) !== "cli" && layerOf(resolve(dirname(file), specifier)) === "cli",
  );
  assert.deepEqual(
    offenders.map((i) => `${relative(repoRoot, i.file)} imports ${i.specifier}`),
    [],
  );
});

test("native packages are loaded only by the layers that own them", () => {
  const violations: string[] = [];
  for (const { file, specifier } of imports) {
    const name = specifier.startsWith("@") ? specifier.split("/").slice(0, 2).join("/") : specifier.split("/")[0]!;
    const owners = PACKAGE_OWNERS[name];
    if (owners && !owners.includes(layerOf(file))) violations.push(`${relative(repoRoot, file)} imports ${specifier}`);
  }
  assert.deepEqual(violations, []);
});

test("the client imports nothing of the broker or the backends, the broker nothing of the backends", () => {
  const reach = (layer: string, forbidden: string[]) =>
    imports.filter(
      ({ file, specifier }) =>
        layerOf(file) === layer && specifier.startsWith(".") && forbidden.includes(layerOf(resolve(dirname(file), specifier))),
    );
  assert.deepEqual(reach("client", ["broker", "backend"]), []);
  assert.deepEqual(reach("broker", ["backend", "client"]), []);
});

/** Every import cycle among src/'s modules, each as the files around it; type-only imports count too. */
function importCycles(): string[][] {
  const edges = new Map<string, string[]>();
  for (const { file, specifier } of imports) {
    if (!specifier.startsWith(".")) continue;
    const target = resolve(dirname(file), specifier).replace(/\.js$/, ".ts");
    if (layerOf(target) === "gen") continue;
    edges.set(file, [...(edges.get(file) ?? []), target]);
  }
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string): void => {
    state.set(file, "open");
    path.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === "open") cycles.push([...path.slice(path.indexOf(next)), next].map((f) => relative(repoRoot, f)));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(file, "done");
  };
  for (const file of files) if (!state.has(file)) visit(file);
  return cycles;
}

test("no module of src/ imports itself through others (no import cycles)", () => {
  assert.deepEqual(
    importCycles().map((c) => c.join(" -> ")),
    [],
  );
});
