// quired.log: rotation by size keeps the configured number of files and loses no line while the broker
// and a backend (a child writing JSON lines to its stderr pipe, copied in by pipeLines) write during it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, test } from "node:test";
import { jsonLogger, LogFile, pipeLines } from "../../src/core/log.js";
import { LogReader } from "../../src/cli/daemon-log.js";
import { repoRoot } from "../helpers/paths.js";

const LOG_MODULE = pathToFileURL(join(repoRoot, "dist", "src", "core", "log.js")).href;
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "quire-log-"));
  dirs.push(dir);
  return dir;
}

/** A "backend": a child process logging `n` JSON lines to its stderr with the backends' own logger. */
function backendWriting(n: number) {
  const script = `const { jsonLogger } = await import(${JSON.stringify(LOG_MODULE)}); const log = jsonLogger(2, "backend:test"); for (let i = 0; i < ${n}; i++) log.log("info", "from the backend", { seq: i, pad: "x".repeat(i % 200) });`;
  return spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
}

/** Every line of every file, parsed (a torn or interleaved line fails JSON.parse). */
function allLines(path: string): { component: string; seq: number }[] {
  const files = readdirSync(join(path, "..")).filter((f) => f.startsWith("quired.log"));
  return files.flatMap((f) =>
    readFileSync(join(path, "..", f), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line)),
  );
}

async function writeWhileRotating(path: string, files: number, n: number): Promise<void> {
  const log = new LogFile(path, { maxBytes: 8 * 1024, files });
  const broker = jsonLogger(log, "broker");
  const child = backendWriting(n);
  const copied = pipeLines(
    child.stderr!,
    (line) => log.writeLine(line),
    () => ({ level: "warn", component: "backend:test" }),
  );
  for (let i = 0; i < n; i++) {
    broker.log("info", "from the broker", { seq: i });
    if (i % 50 === 0) await new Promise((r) => setImmediate(r));
  }
  await copied;
  log.close();
}

test("rotating while the broker and a backend write: every line is in some file, whole and once", async () => {
  const dir = tempDir();
  const path = join(dir, "quired.log");
  const n = 5_000;
  await writeWhileRotating(path, 1_000, n);
  const lines = allLines(path);
  assert.ok(existsSync(`${path}.10`), "rotated many times");
  for (const component of ["broker", "backend:test"]) {
    const seqs = lines
      .filter((l) => l.component === component)
      .map((l) => l.seq)
      .sort((a, b) => a - b);
    assert.equal(seqs.length, n, `${component}: ${seqs.length} of ${n} lines`);
    assert.deepEqual(
      seqs,
      Array.from({ length: n }, (_, i) => i),
    );
  }
  for (const f of readdirSync(dir)) assert.ok(readFileSync(join(dir, f)).length <= 8 * 1024, `${f} is over the limit`);
});

test("rotation keeps the configured number of files", async () => {
  const dir = tempDir();
  const path = join(dir, "quired.log");
  await writeWhileRotating(path, 3, 2_000);
  assert.deepEqual(readdirSync(dir).sort(), ["quired.log", "quired.log.1", "quired.log.2"]);
  // The newest lines survive: the last the broker wrote is in quired.log or quired.log.1.
  const newest = [path, `${path}.1`].map((f) => readFileSync(f, "utf8")).join("");
  assert.match(newest, /"seq":1999[,}]/);
});

test("a backend's line that is not JSON is wrapped, not lost", async () => {
  const dir = tempDir();
  const log = new LogFile(join(dir, "quired.log"), { maxBytes: 0, files: 5 });
  const child = spawn(process.execPath, ["-e", 'process.stderr.write("Error: boom\\n    at somewhere\\nno newline at the end")'], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  await pipeLines(
    child.stderr!,
    (line) => log.writeLine(line),
    () => ({ level: "warn", component: "backend:ci", stream: "stderr" }),
  );
  log.close();
  const lines = readFileSync(join(dir, "quired.log"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    lines.map((l) => l.msg),
    ["Error: boom", "    at somewhere", "no newline at the end"],
  );
  assert.equal(lines[0].component, "backend:ci");
});

test("LogReader follows a log across a rotation", () => {
  const dir = tempDir();
  const path = join(dir, "quired.log");
  const log = new LogFile(path, { maxBytes: 0, files: 3 });
  log.writeLine("one");
  const reader = new LogReader(path);
  assert.deepEqual(reader.read(), ["one"]);
  log.writeLine("two");
  log.rotate();
  log.writeLine("three");
  assert.deepEqual(reader.read(), ["two", "three"]);
  log.writeLine("four");
  assert.deepEqual(reader.read(), ["four"]);
  log.close();
});
