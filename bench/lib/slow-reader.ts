// The RSS bench's two sides, each run in a process of its own (`node slow-reader.js quire|node-pty
// BYTES MB_PER_S` prints the peak RSS growth in bytes). In the bench's own process, node-pty's side left
// about 190 MiB resident, and forking from a bigger process is slower: every bench after it measured
// spawns about 3x slower than in a fresh process.
import { createRequire } from "node:module";
import type * as NodePty from "node-pty";
import { spawn } from "../../src/runtime/index.js";

const require = createRequire(import.meta.url);
const pty = require("node-pty") as typeof NodePty;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Peak RSS growth while `work` runs. */
async function peakRss(work: () => Promise<void>): Promise<number> {
  const base = process.memoryUsage().rss;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  await work();
  clearInterval(sampler);
  return peak - base;
}

/** A reader of `mbPerSecond`: it sleeps whenever it is ahead of that rate (timers cannot sleep per chunk). */
function throttle(mbPerSecond: number): (bytes: number) => Promise<void> {
  const start = performance.now();
  let consumed = 0;
  return async (bytes) => {
    consumed += bytes;
    const ahead = (consumed / (mbPerSecond * 1e6)) * 1000 - (performance.now() - start);
    if (ahead > 5) await sleep(ahead);
  };
}

async function throughQuire(args: string[], mbPerSecond: number): Promise<void> {
  const p = spawn("head", args, { maxOutputBytes: 64 * 1024 });
  const read = throttle(mbPerSecond);
  for await (const chunk of p.output) await read((chunk as Buffer).length);
  await p.wait();
}

async function throughNodePty(args: string[], mbPerSecond: number): Promise<void> {
  const queue: Buffer[] = [];
  let ended = false;
  const term = pty.spawn("head", args, { encoding: null as unknown as string });
  term.onData((d) => queue.push(d as unknown as Buffer));
  term.onExit(() => (ended = true));
  const read = throttle(mbPerSecond);
  while (!ended || queue.length) {
    const chunk = queue.shift();
    if (chunk) await read(chunk.length);
    else await sleep(1);
  }
}

const [side, bytes, mbPerSecond] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const args = ["-c", `${bytes}`, "/dev/zero"];
const grown = await peakRss(() => (side === "quire" ? throughQuire(args, mbPerSecond) : throughNodePty(args, mbPerSecond)));
process.stdout.write(`${grown}\n`);
