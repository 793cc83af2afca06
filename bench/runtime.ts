// The runtime against bare node-pty (and child_process): lost output, spawn latency, commands in a row,
// throughput, memory.
import { execFile, spawn as spawnChild } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type * as NodePty from "node-pty";
import { run, spawn } from "../src/runtime/index.js";
import { heading, note, report } from "./lib/report.js";
import { latency } from "./lib/stats.js";

const require = createRequire(import.meta.url);
const pty = require("node-pty") as typeof NodePty;
const execFileAsync = promisify(execFile);

/** Runs `count` jobs, `concurrency` at a time. */
async function pool(count: number, concurrency: number, job: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await job(next++);
    }),
  );
}

function barePtyOutput(file: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const term = pty.spawn(file, args, { cols: 200, encoding: null as unknown as string });
    term.onData((d) => chunks.push(Buffer.from(d as unknown as Buffer)));
    term.onExit(() => setImmediate(() => resolve(Buffer.concat(chunks))));
  });
}

async function lostRuns(count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "quire-bench-"));
  try {
    const file = join(dir, "data.txt");
    const text = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join("\n") + "\n";
    writeFileSync(file, text);
    const expected = text.replace(/\n/g, "\r\n");
    let quireLost = 0;
    let bareLost = 0;
    await pool(count, 4, async () => {
      if ((await run("cat", [file])).output !== expected) quireLost++;
    });
    await pool(count, 4, async () => {
      if ((await barePtyOutput("cat", [file])).toString() !== expected) bareLost++;
    });
    report({
      bench: "runtime",
      metric: `lost runs of ${count} (cat 13 KB, 4 at once)`,
      value: quireLost,
      unit: "runs",
      baseline: { name: "node-pty", value: bareLost },
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function firstByte(rounds: number): Promise<void> {
  const quire: number[] = [];
  const bare: number[] = [];
  const child: number[] = [];
  for (let i = -20; i < rounds; i++) {
    let start = performance.now();
    const q = spawn("echo", ["x"]);
    const qt = await new Promise<number>((resolve) => q.once("data", () => resolve(performance.now() - start)));
    await q.wait();
    start = performance.now();
    const b = pty.spawn("echo", ["x"], {});
    const bt = await new Promise<number>((resolve) => b.onData(() => resolve(performance.now() - start)));
    await new Promise((resolve) => b.onExit(resolve));
    start = performance.now();
    const c = spawnChild("echo", ["x"]);
    const ct = await new Promise<number>((resolve) => c.stdout.once("data", () => resolve(performance.now() - start)));
    await new Promise((resolve) => c.once("close", resolve));
    if (i < 0) continue;
    quire.push(qt);
    bare.push(bt);
    child.push(ct);
  }
  const [q, b, c] = [latency(quire), latency(bare), latency(child)];
  for (const p of ["p50", "p99"] as const) {
    report({ bench: "runtime", metric: `spawn to first byte ${p}`, value: q[p], unit: "µs", baseline: { name: "node-pty", value: b[p] } });
    report({
      bench: "runtime",
      metric: `spawn to first byte ${p} (vs pipes)`,
      value: q[p],
      unit: "µs",
      baseline: { name: "child_process", value: c[p] },
    });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * `count` short commands one after another, start to result: run() against the bare call (node-pty's
 * spawn to onExit; child_process's spawn to close). Blocks alternate, each timed whole; the medians of
 * `rounds` blocks are compared.
 */
async function oneAfterAnother(count: number, rounds: number): Promise<void> {
  const kinds = [
    {
      what: "PTY",
      quire: () => run("true").then(() => {}),
      bare: { name: "node-pty", run: () => new Promise<void>((resolve) => void pty.spawn("true", [], {}).onExit(() => resolve())) },
    },
    {
      what: "pipes",
      quire: () => run("true", [], { pty: false }).then(() => {}),
      bare: { name: "child_process", run: () => new Promise<void>((resolve) => void spawnChild("true").once("close", () => resolve())) },
    },
  ];
  const block = async (job: () => Promise<void>) => {
    const start = performance.now();
    for (let i = 0; i < count; i++) await job();
    return performance.now() - start;
  };
  for (const { what, quire, bare } of kinds) {
    await block(quire);
    await block(bare.run);
    const quireMs: number[] = [];
    const bareMs: number[] = [];
    for (let round = 0; round < rounds; round++) {
      quireMs.push(await block(quire));
      bareMs.push(await block(bare.run));
    }
    const [q, b] = [median(quireMs), median(bareMs)];
    report({
      bench: "runtime",
      metric: `${count} in a row (${what}), per command`,
      value: q / count,
      unit: "ms",
      baseline: { name: bare.name, value: b / count },
    });
    report({
      bench: "runtime",
      metric: `${count} in a row (${what}), total`,
      value: q,
      unit: "ms",
      baseline: { name: bare.name, value: b },
    });
  }
}

async function throughput(bytes: number): Promise<void> {
  const args = ["-c", `${bytes}`, "/dev/zero"];
  const timeQuire = async () => {
    const start = performance.now();
    const result = await run("head", args, { maxOutputBytes: 1024 });
    if (result.outputBytes !== bytes) throw new Error(`quire delivered ${result.outputBytes} of ${bytes} bytes`);
    return (performance.now() - start) / 1000;
  };
  const timeBare = () =>
    new Promise<number>((resolve) => {
      const start = performance.now();
      const term = pty.spawn("head", args, { encoding: null as unknown as string });
      term.onExit(() => resolve((performance.now() - start) / 1000));
    });
  // Alternate, after a warm-up of each, and compare medians: one cold run says little on two shared cores.
  await timeQuire();
  await timeBare();
  const quire: number[] = [];
  const bare: number[] = [];
  for (let round = 0; round < 3; round++) {
    quire.push(await timeQuire());
    bare.push(await timeBare());
  }
  report({
    bench: "runtime",
    metric: `PTY throughput, ${bytes >> 20} MiB`,
    value: bytes / median(quire) / 1e6,
    unit: "MB/s",
    baseline: { name: "node-pty", value: bytes / median(bare) / 1e6 },
  });
}

/** Peak RSS growth of a fresh process reading `bytes` at `mbPerSecond` through one side (lib/slow-reader.ts). */
async function rssOf(side: "quire" | "node-pty", bytes: number, mbPerSecond: number): Promise<number> {
  const script = fileURLToPath(new URL("./lib/slow-reader.js", import.meta.url));
  const { stdout } = await execFileAsync(process.execPath, [script, side, String(bytes), String(mbPerSecond)], { maxBuffer: 1024 });
  return Number(stdout.trim());
}

async function slowConsumer(bytes: number, mbPerSecond: number): Promise<void> {
  const quire = await rssOf("quire", bytes, mbPerSecond);
  const bare = await rssOf("node-pty", bytes, mbPerSecond);
  report({
    bench: "runtime",
    metric: `RSS growth, ${bytes >> 20} MiB to a ${mbPerSecond} MB/s reader (fresh process each)`,
    value: quire / 2 ** 20,
    unit: "MiB",
    baseline: { name: "node-pty", value: bare / 2 ** 20 },
  });
}

export async function benchRuntime(quick: boolean): Promise<void> {
  heading("runtime: commands in PTYs");
  await lostRuns(quick ? 200 : 1000);
  await firstByte(quick ? 50 : 300);
  await oneAfterAnother(100, quick ? 3 : 7);
  await throughput((quick ? 20 : 100) * 2 ** 20);
  // The reader is slower than a PTY can produce, so output must wait somewhere: in the kernel, or in memory.
  await slowConsumer((quick ? 64 : 1024) * 2 ** 20, 50);
}
