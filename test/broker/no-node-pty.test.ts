// quired knows services by name only: loading the broker (or quired's entry module) must not load a
// service's code, and so never node-pty. Checked in a fresh process: which CommonJS modules it loaded
// (node-pty is CommonJS, so it shows there even when imported from ESM) and, on Linux, whether pty.node
// is mapped into it.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";

interface Loaded {
  nodePtyModules: string[];
  ptyNodeMapped: boolean | null;
}

function loadIn(freshProcess: string[]): Loaded {
  const modules = freshProcess.map((m) => JSON.stringify(new URL(m, import.meta.url).href));
  const script = `
    ${modules.map((m) => `await import(${m});`).join("\n")}
    const { createRequire } = await import("node:module");
    const { readFileSync } = await import("node:fs");
    const require = createRequire(${JSON.stringify(import.meta.url)});
    const nodePtyModules = Object.keys(require.cache).filter((k) => /[\\\\/]node-pty[\\\\/]/.test(k));
    const ptyNodeMapped = process.platform === "linux" ? readFileSync("/proc/self/maps", "utf8").includes("pty.node") : null;
    console.log(JSON.stringify({ nodePtyModules, ptyNodeMapped }));
  `;
  return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" })) as Loaded;
}

test("loading the broker and quired's entry module loads no node-pty", () => {
  const loaded = loadIn(["../../src/broker/broker.js", "../../src/cli/quired.js"]);
  assert.deepEqual(loaded.nodePtyModules, []);
  if (loaded.ptyNodeMapped !== null) assert.equal(loaded.ptyNodeMapped, false, "pty.node is mapped into the process");
});

test("the check sees node-pty where it is loaded: a backend's service table", () => {
  const loaded = loadIn(["../../src/backend/services/index.js"]);
  assert.ok(loaded.nodePtyModules.length > 0, "node-pty should be among the modules a pty-capable backend loads");
});
