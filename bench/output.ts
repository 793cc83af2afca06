// A step's output path against bare node-pty: 200 MB printed by one step, from submission to the run's
// result (the PTY read, redaction, workflow-command scanning, the log file), alone and with a live
// follower (`logs -f`) taking every byte; and the ci backend's resident memory before and after.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as NodePty from "node-pty";
import { stepCommand } from "../src/ci/runner/shell.js";
import { Redactor } from "../src/ci/output/redact.js";
import { CiClient } from "../src/client/ci.js";
import { profileFlags, summariseProfiles } from "./lib/profile.js";
import { heading, note, report } from "./lib/report.js";
import { startBenchDaemon } from "./lib/servers.js";

const require = createRequire(import.meta.url);
const pty = require("node-pty") as typeof NodePty;

/** 80-byte lines (79 and the newline, which the terminal makes \r\n), as a build or test log prints them. */
const LINE = "quire output bench: a line of step output as a compiler or a test runner prints it";
const command = (bytes: number) => `head -c ${bytes} < <(yes '${LINE.slice(0, 79)}')`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function rssMiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
}

/** The same command line a step runs (`nice -n 10 bash -eo pipefail -c`), read by bare node-pty to its exit; seconds. */
function bareNodePty(line: string): Promise<number> {
  const { file, args } = stepCommand(line);
  return new Promise((resolve) => {
    const start = performance.now();
    let bytes = 0;
    const term = pty.spawn(file, args, { cols: 120, rows: 40, encoding: null as unknown as string });
    term.onData((d) => (bytes += (d as unknown as Buffer).length));
    term.onExit(() => resolve((performance.now() - start) / 1000));
  });
}

/** Submits the one-step pipeline and waits for its result (as `run --wait` does), optionally following its log; seconds. */
async function throughQuire(ci: CiClient, file: string, text: string, follow: boolean): Promise<number> {
  const start = performance.now();
  const { id } = await ci.submit(file, text);
  let followed = 0;
  const following = follow ? ci.logs(id, { follow: true }, (chunk) => (followed += chunk.data.length)) : undefined;
  const done = await ci.watch(id, () => {});
  await following;
  const seconds = (performance.now() - start) / 1000;
  if (done.state !== "complete") throw new Error(`the output bench's run ended ${done.state}: ${done.failureSummary}`);
  if (follow && followed < 0.99 * Number(/head -c (\d+)/.exec(text)![1])) throw new Error(`the follower got ${followed} bytes`);
  return seconds;
}

/** MB/s through a Redactor for `secrets`, `output` fed in PTY-sized reads; the best of three. */
function redactionRate(secrets: string[], output: Buffer): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 3; round++) {
    const redactor = new Redactor(secrets);
    const start = performance.now();
    for (let at = 0; at < output.length; at += 4095) redactor.push(output.subarray(at, at + 4095));
    redactor.end();
    best = Math.min(best, performance.now() - start);
  }
  return output.length / best / 1000;
}

/** Redaction with a long repetitive secret (100,000 times "a"), against a run token's 43 bytes, over the same output. */
function redaction(mb: number): void {
  const lines = Buffer.from(`${LINE.slice(0, 79)}\r\n`.repeat((mb * 1_000_000) / 81));
  const token = "qrt_7Hc2kQ9zX1vB4nM8pL3sD6fG0jR5tY2uW9eA1iO";
  const long = "a".repeat(100_000);
  const baseline = { name: "a 43-byte token", value: redactionRate([token], lines) };
  report({
    bench: "output",
    metric: "redaction, 100 KB repetitive secret",
    value: redactionRate([long, token], lines),
    unit: "MB/s",
    baseline,
  });
  report({
    bench: "output",
    metric: "redaction, the same, output all of it",
    value: redactionRate([long, token], Buffer.alloc(mb * 1_000_000, "a")),
    unit: "MB/s",
    baseline,
  });
}

export async function benchOutput(quick: boolean, profileDir: string | undefined): Promise<void> {
  const bytes = (quick ? 20 : 200) * 1_000_000;
  const mb = bytes / 1_000_000;
  heading(`output: ${mb} MB printed by one step, start to result (medians of alternating rounds)`);
  // A daemon of its own: the ci backend's memory is then this bench's alone.
  const daemon = await startBenchDaemon(profileDir ? profileFlags(profileDir) : []);
  const dir = mkdtempSync(join(tmpdir(), "quire-bench-output-"));
  const ci = await CiClient.connect({ home: daemon.home, autostart: false });
  try {
    const file = join(dir, "loud.yml");
    const text = `name: loud\njobs:\n  print:\n    steps:\n      - ${JSON.stringify(command(bytes))}\n`;
    writeFileSync(file, text);
    // Warm both (the backend's JIT, the page cache), then measure.
    await throughQuire(ci, file, text.replace(String(bytes), String(bytes / 10)), false);
    await bareNodePty(command(bytes / 10));
    const backend = (await daemon.backendPids())[0]!;
    const rssStart = rssMiB(backend);
    const rounds = quick ? 1 : 3;
    const alone: number[] = [];
    const followed: number[] = [];
    const bare: number[] = [];
    let rssPeak = rssStart;
    const sample = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(backend))), 50);
    for (let round = 0; round < rounds; round++) {
      alone.push(await throughQuire(ci, file, text, false));
      bare.push(await bareNodePty(command(bytes)));
      followed.push(await throughQuire(ci, file, text, true));
    }
    clearInterval(sample);
    const rssEnd = rssMiB(backend);
    const baseline = { name: "bare node-pty", value: median(bare) };
    report({ bench: "output", metric: `${mb} MB of step output, start to result`, value: median(alone), unit: "s", baseline });
    report({ bench: "output", metric: `${mb} MB of step output, followed (logs -f)`, value: median(followed), unit: "s", baseline });
    report({
      bench: "output",
      metric: `ci backend RSS after ${(2 * rounds * mb) / 1000} GB of step output`,
      value: rssEnd,
      unit: "MiB",
      baseline: { name: "before", value: rssStart },
    });
    report({
      bench: "output",
      metric: "ci backend RSS, peak while it streamed",
      value: rssPeak,
      unit: "MiB",
      baseline: { name: "before", value: rssStart },
    });
    redaction(quick ? 5 : 20);
    note(`the step prints 80-byte lines (yes | head -c); bare node-pty runs the same \`nice -n 10 bash -eo pipefail -c\` line`);
  } finally {
    ci.close();
    const names = new Map([
      [daemon.process.pid!, "broker"],
      ...(await daemon.backendPids()).map((pid) => [pid, "ci backend"] as [number, string]),
    ]);
    await daemon.stop();
    rmSync(dir, { recursive: true, force: true });
    if (profileDir) summariseProfiles(profileDir, names);
  }
}
