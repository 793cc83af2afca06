#!/usr/bin/env node
// Generates src/gen from proto/ with buf and the ts-proto plugin, both installed from npm and offline.
// `node scripts/gen.mjs --out DIR` writes elsewhere (the drift test compares DIR with src/gen).
import { execFileSync } from "node:child_process";
import { rmSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outFlag = process.argv.indexOf("--out");
const out = outFlag >= 0 ? resolve(process.argv[outFlag + 1]) : join(root, "src", "gen");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
execFileSync(join(root, "node_modules", ".bin", "buf"), ["generate", "--template", "buf.gen.yaml", "-o", out], {
  cwd: root,
  stdio: "inherit",
});
