// Scans of the process table and of every process's descriptors are the runtime's expensive reads:
// concurrent callers share them, and each one is announced on a diagnostics channel.
import { channel } from "node:diagnostics_channel";

/**
 * One message per scan of the process table (`{ scan: "processes", processes }`) or of every process's
 * descriptors (`{ scan: "holders", processes }`): the expensive reads, which concurrent callers share.
 * `{ scan: "window", processes }` is the cheap look `mayHaveMembers` takes at the pids handed out while
 * a command ran.
 */
export const processScanChannel = channel("quire:runtime:process-scan");

/**
 * One scan for everyone who asks in the same tick; whoever asks while a scan runs gets the next one, so
 * every caller sees the table as it was after it asked (a process it just started is in it).
 */
export class SharedScan<Request, Result> {
  #queued: { requests: Request[]; promise: Promise<Result>; resolve(r: Result): void; reject(e: unknown): void } | undefined;
  #running = false;

  constructor(private readonly run: (requests: Request[]) => Promise<Result>) {}

  request(request: Request): Promise<Result> {
    if (!this.#queued) {
      let resolve!: (r: Result) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Result>((res, rej) => ([resolve, reject] = [res, rej]));
      this.#queued = { requests: [], promise, resolve, reject };
      if (!this.#running) setImmediate(() => this.#start());
    }
    this.#queued.requests.push(request);
    return this.#queued.promise;
  }

  #start(): void {
    const batch = this.#queued;
    if (!batch || this.#running) return;
    this.#queued = undefined;
    this.#running = true;
    this.run(batch.requests)
      .then(batch.resolve, batch.reject)
      .finally(() => {
        this.#running = false;
        if (this.#queued) setImmediate(() => this.#start());
      });
  }
}
