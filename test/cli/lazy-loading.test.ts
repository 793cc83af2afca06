// quirectl loads what the command it was given needs, and nothing else: every invocation used to load every
// command's modules (yargs, the client, the wire, the protobuf runtime, yaml, the expression parser, xterm,
// log-update, chokidar) before yargs knew what it was asked, so `quirectl --version` cost half a second.
// Checked in fresh processes, with a loader hook listing each module they load.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { QUIRECTL } from "../helpers/daemon.js";

const dir = mkdtempSync(join(tmpdir(), "quire-lazy-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const HOOK = new URL("../helpers/load-log.js", import.meta.url).href;
let runs = 0;

/** The modules `quirectl ARGS` loads (with no daemon and no autostart), as paths: `src/cli/...`, `node_modules/yargs/...`. */
async function loadedBy(args: string[]): Promise<{ code: number | null; modules: string[] }> {
  const log = join(dir, `loaded-${runs++}.txt`);
  const env = { ...process.env, QUIRE_HOME: join(dir, "home"), QUIRE_NO_AUTOSTART: "1", QUIRE_LOAD_LOG: log };
  const code = await new Promise<number | null>((resolve) => {
    const child = execFile(process.execPath, ["--import", HOOK, QUIRECTL, ...args], { env, cwd: dir, timeout: 60_000 });
    child.once("exit", (exitCode) => resolve(exitCode));
  });
  const modules = readFileSync(log, "utf8")
    .split("\n")
    .filter((url) => url.startsWith("file:"))
    .map((url) => url.replace(/^.*?\/(?=(?:dist\/)?(?:src|node_modules|bin|test)\/)/, "").replace(/^dist\//, ""));
  return { code, modules };
}

function none(modules: string[], pattern: RegExp): string[] {
  return modules.filter((m) => pattern.test(m));
}

test("--version loads the command table alone: no yargs, no client, no wire", async () => {
  const { code, modules } = await loadedBy(["--version"]);
  assert.equal(code, 0);
  assert.ok(modules.includes("src/cli/quirectl.js"), modules.join("\n"));
  assert.deepEqual(none(modules, /node_modules\//), []);
});

test("--help loads yargs and the table, and none of the commands' modules", async () => {
  const { code, modules } = await loadedBy(["--help"]);
  assert.equal(code, 0);
  assert.ok(modules.some((m) => m.startsWith("node_modules/yargs/")));
  assert.deepEqual(
    none(modules, /^src\/(client|wire|gen|ci|core)\/|@bufbuild|node_modules\/(yaml|log-update|chokidar|@xterm|@actions)\//),
    [],
  );
  assert.deepEqual(none(modules, /^src\/cli\/(?!quirectl|plain-commands|errors|exit-codes|output|prompt-shells)/), []);
});

test("status, a plain command, is decided without yargs", async () => {
  const { code, modules } = await loadedBy(["status", "--json"]);
  assert.equal(code, 3, "no daemon answers");
  assert.ok(modules.includes("src/cli/status.js"));
  assert.deepEqual(none(modules, /node_modules\/(yargs|yargs-parser)\//), []);
});

test("a command that lists runs loads the client, but not the pipeline readers, the live view or the terminal emulator", async () => {
  const { code, modules } = await loadedBy(["runs", "--json"]);
  assert.equal(code, 3, "no daemon answers");
  assert.ok(modules.includes("src/client/ci.js"));
  assert.deepEqual(
    none(modules, /node_modules\/(yaml|log-update|chokidar|@xterm|@actions)\/|^src\/cli\/(run|live-view|watch|step-tails)\.js$/),
    [],
  );
});
