// README's JavaScript examples are programs: each ```js block runs as an ES module against a real
// temporary daemon, importing `quire/...` the way a user would (the package's self-reference through its
// own `exports`), and must finish with exit code 0 within a time limit.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parsePipeline } from "../src/ci/pipeline/parse.js";
import { parseSettings } from "../src/ci/settings/settings-file.js";
import { startTestDaemon, type TestDaemon } from "./helpers/daemon.js";
import { repoRoot } from "./helpers/paths.js";

const EXAMPLE_TIME_LIMIT_MS = 60_000;

/** The ```LANGUAGE blocks of a Markdown text, with the line each starts on. */
function codeBlocks(markdown: string, language: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trimEnd() !== "```" + language) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    assert.ok(end < lines.length, `README.md:${start}: a \`\`\`${language} block is never closed`);
    blocks.push({ line: start, code: lines.slice(start, end).join("\n") + "\n" });
    i = end;
  }
  return blocks;
}

const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
const blocks = codeBlocks(readme, "js");
// Inside the repository (dist/ is ignored by git), so `import "quire/..."` resolves through package.json's
// own `exports`, as it does for anyone who installed the package.
let dir: string;
let daemon: TestDaemon;

before(async () => {
  dir = mkdtempSync(join(repoRoot, "dist", "readme-examples-"));
  daemon = await startTestDaemon();
});

after(async () => {
  await daemon?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("README.md has JavaScript examples to run", () => {
  assert.ok(blocks.length >= 2, `found ${blocks.length} \`\`\`js blocks`);
});

for (const [index, block] of blocks.entries()) {
  test(`README.md:${block.line}: the example runs`, async () => {
    const file = join(dir, `example-${index + 1}.mjs`);
    writeFileSync(file, block.code);
    const { code, signal, stdout, stderr } = await runNode(file, dir, {
      ...process.env,
      QUIRE_HOME: daemon.home,
      // The examples must reach the test daemon, never start one of their own elsewhere.
      QUIRE_NO_AUTOSTART: "1",
    });
    assert.equal(
      signal,
      null,
      `README.md:${block.line}: killed by ${signal} after ${EXAMPLE_TIME_LIMIT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`,
    );
    assert.equal(code, 0, `README.md:${block.line}: exit code ${code}\nstdout:\n${stdout}\nstderr:\n${stderr}`);
  });
}

for (const block of codeBlocks(readme, "yaml")) {
  test(`README.md:${block.line}: the pipeline parses`, () => {
    const pipeline = parsePipeline(block.code, `README.md:${block.line}`);
    assert.ok(pipeline.jobs.length > 0);
  });
}

// quire's configuration file, shown as ```yaml config.yml: read as quirectl reads it.
for (const block of codeBlocks(readme, "yaml config.yml")) {
  test(`README.md:${block.line}: the configuration file is read`, () => {
    assert.ok(parseSettings(block.code, `README.md:${block.line}`).given.size > 0);
  });
}

function runNode(
  file: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [file], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (stdout += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
    const timer = setTimeout(() => child.kill("SIGKILL"), EXAMPLE_TIME_LIMIT_MS);
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}
