// A step's log as the page reads it: a byte range of the file the ci service names for that step (the
// end first, earlier parts as the page scrolls back), or its bytes from an offset on while the step runs.
// The file holds what the step printed with its secrets already redacted; nothing else is read.
import { open } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import type { CiRun, CiStep } from "../client/ci.js";
import { followLog } from "../ci/output/log-file.js";

/** The most one range request reads. */
export const MAX_RANGE_BYTES = 4 * 1024 * 1024;

const LIVE_STATES = new Set(["pending", "active"]);

export function stepOf(run: CiRun, job: string, index: number): CiStep | undefined {
  return run.jobs.find((j) => j.name === job)?.steps[index];
}

export function isStepLive(run: CiRun | undefined, job: string, index: number): boolean {
  if (!run) return false;
  const step = stepOf(run, job, index);
  return step !== undefined && LIVE_STATES.has(step.state) && LIVE_STATES.has(run.state);
}

/** Which bytes: [from, to), or the last `tail` bytes. */
export type LogRange = { from: number; to: number } | { tail: number };

/** The bytes of `range`, clamped to what the log holds now and to MAX_RANGE_BYTES; `size` is its length now. */
export async function readRange(path: string, range: LogRange): Promise<{ bytes: Buffer; from: number; size: number }> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { bytes: Buffer.alloc(0), from: 0, size: 0 };
    throw error;
  }
  try {
    const size = (await handle.stat()).size;
    const want = "tail" in range ? { from: size - Math.min(range.tail, MAX_RANGE_BYTES), to: size } : range;
    const start = Math.min(Math.max(0, want.from), size);
    const end = Math.min(Math.max(start, want.to), size, start + MAX_RANGE_BYTES);
    const bytes = Buffer.alloc(end - start);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, bytes.length - done, start + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return { bytes: bytes.subarray(0, done), from: start, size };
  } finally {
    await handle.close();
  }
}

/**
 * Writes the log from `offset` on into `response` as it grows, until the step has ended (`isLive`) or the
 * browser goes. A browser that reads slowly is written to no faster than it reads.
 */
export async function followInto(
  response: ServerResponse,
  path: string,
  offset: number,
  isLive: () => boolean,
  signal: AbortSignal,
): Promise<void> {
  const drained = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        response.off("drain", done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      response.on("drain", done);
      signal.addEventListener("abort", done, { once: true });
    });
  await followLog(
    path,
    async (chunk) => {
      if (!response.write(chunk)) await drained();
    },
    isLive,
    signal,
    offset,
  );
}
