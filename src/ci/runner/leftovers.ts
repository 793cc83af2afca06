// Processes a job left behind that its terminal's tree no longer leads to: a daemon started with
// `setsid` that closed its descriptors, or steps of a ci backend that was killed. Every step carries
// QUIRE_CI_JOB_KEY in its environment; processes inherit it, so /proc/*/environ finds them whatever
// their parent, session or terminal. Linux only: elsewhere there is no /proc to read, and nothing is done.
// A job's end reads only the processes created since its attempt began (what else could carry its key?),
// found from the pids handed out meanwhile, rather than every process's environment: on a busy machine
// that was hundreds of reads for every job.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { createdSince, describe, isAlive, pidMark, signalProcess, type PidMark, type ProcessIdentity } from "../../runtime/processes.js";

export const JOB_KEY_ENV = "QUIRE_CI_JOB_KEY";

/** The key of one job of one run under one daemon home: `<home hash>/<run>/<job>/`. */
function jobKey(dataDir: string, runId: number, job: string): string {
  return `${runKeyPrefix(dataDir, runId)}${job}/`;
}

/** What every job key of a run starts with. */
function runKeyPrefix(dataDir: string, runId: number): string {
  return `${createHash("sha256").update(dataDir).digest("hex").slice(0, 12)}/${runId}/`;
}

/** Ends what one run's steps left running out of their terminals' reach. */
export interface LeftoverKiller {
  /** An attempt of `job` begins, before its first step starts: what endJob ends is created from now on. */
  startJob(job: string): void;
  /** Ends what the steps of `job` left; resolves once it has gone. */
  endJob(job: string): Promise<void>;
  /** Ends what any step of the run left. */
  endRun(): Promise<void>;
}

/** The leftovers of run `runId` under the home `dataDir`: the processes carrying its job keys. */
export class MarkedLeftovers implements LeftoverKiller {
  readonly #dataDir: string;
  readonly #runId: number;
  readonly #graceMs: number;
  /** Where pid allocation stood as each job's attempt began (undefined: it cannot be told here). */
  readonly #started = new Map<string, PidMark | undefined>();

  constructor(dataDir: string, runId: number, graceMs: number) {
    this.#dataDir = dataDir;
    this.#runId = runId;
    this.#graceMs = graceMs;
  }

  /** The QUIRE_CI_JOB_KEY of `job`'s steps. */
  jobKey(job: string): string {
    return jobKey(this.#dataDir, this.#runId, job);
  }

  startJob(job: string): void {
    if (process.platform === "linux") this.#started.set(job, pidMark());
  }

  async endJob(job: string): Promise<void> {
    const since = this.#started.get(job);
    this.#started.delete(job);
    await endLeftovers(this.jobKey(job), this.#graceMs, since);
  }

  async endRun(): Promise<void> {
    await endLeftovers(runKeyPrefix(this.#dataDir, this.#runId), this.#graceMs);
  }
}

/**
 * Ends every process whose QUIRE_CI_JOB_KEY starts with `prefix`: TERM, then KILL after `graceMs`. Returns
 * how many there were. With `since`, only processes created after that mark are looked at.
 */
async function endLeftovers(prefix: string, graceMs: number, since?: PidMark): Promise<number> {
  if (process.platform !== "linux") return 0;
  const marked = await findMarked(`${JOB_KEY_ENV}=${prefix}`, since);
  if (marked.length === 0) return 0;
  for (const p of marked) signalProcess(p, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (marked.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const p of marked) if (isAlive(p)) signalProcess(p, "SIGKILL");
  return marked.length;
}

async function findMarked(needle: string, since: PidMark | undefined): Promise<ProcessIdentity[]> {
  const found: ProcessIdentity[] = [];
  const pids = (since && (await createdSince(since))) ?? (await readdir("/proc")).filter((name) => /^\d+$/.test(name)).map(Number);
  for (let i = 0; i < pids.length; i++) {
    if (i > 0 && i % ENVIRONS_PER_TURN === 0) await new Promise((resolve) => setImmediate(resolve));
    const pid = pids[i]!;
    if (pid === process.pid) continue;
    const environ = readEnviron(pid);
    if (environ === undefined || !hasEntry(environ, needle)) continue;
    const info = describe(pid);
    if (info) found.push({ pid, startTime: info.startTime });
  }
  return found;
}

/** Environments read between two turns of the event loop. */
const ENVIRONS_PER_TURN = 64;

/** Most environments fit; a larger one is read into a buffer of its own. */
const environBuffer = Buffer.allocUnsafe(64 * 1024);

/**
 * The process's environment (a view of a shared buffer, valid until the next call), or undefined when it
 * is gone or not ours to read. Read synchronously: readFile would allocate 64 KiB for each process (a
 * procfs file has no size) and go through the thread pool four times.
 */
function readEnviron(pid: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(`/proc/${pid}/environ`, "r");
  } catch {
    return undefined;
  }
  try {
    let buffer = environBuffer;
    let length = 0;
    for (;;) {
      if (length === buffer.length) buffer = Buffer.concat([buffer], buffer.length * 2);
      const n = readSync(fd, buffer, length, buffer.length - length, null);
      if (n === 0) return buffer.subarray(0, length);
      length += n;
    }
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Does the NUL-separated environment hold an entry starting with `needle`? */
function hasEntry(environ: Buffer, needle: string): boolean {
  for (let at = environ.indexOf(needle); at >= 0; at = environ.indexOf(needle, at + 1)) {
    if (at === 0 || environ[at - 1] === 0) return true;
  }
  return false;
}
