// What the page's event streams carry. The list: the ci service's runs, asked for every LIST_POLL_MS
// while a browser listens, sent as the runs that changed. A run: the ci service's watch of it, shared by
// every browser (and log follower) looking at that run, and ended when the last one leaves.
import type { CiRun } from "../client/ci.js";
import { CiRequestError } from "../client/ci.js";
import { CiErrorCode } from "../wire/error-codes.js";
import type { CiLink } from "./ci-link.js";
import type { EventStream } from "./event-stream.js";
import { runDetail, runSummary } from "./run-json.js";

const LIST_POLL_MS = 500;
/** The runs the list shows: the newest this many. */
export const LIST_LIMIT = 200;
/** A watch lost with the connection is made again after this long. */
const REWATCH_MS = 500;

export class ListFeed {
  readonly #ci: CiLink;
  readonly #streams = new Set<EventStream>();
  /** The last runs sent, by id, as JSON text, to send only what changed. */
  #sent = new Map<number, string>();
  #timer: NodeJS.Timeout | undefined;
  #polled = false;

  constructor(ci: CiLink) {
    this.#ci = ci;
  }

  get listeners(): number {
    return this.#streams.size;
  }

  add(stream: EventStream): () => void {
    this.#streams.add(stream);
    if (this.#polled)
      stream.send(
        "runs",
        [...this.#sent.values()].map((text) => JSON.parse(text) as unknown),
      );
    if (this.#streams.size === 1) void this.#poll();
    return () => {
      this.#streams.delete(stream);
      if (this.#streams.size > 0) return;
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#polled = false;
      this.#sent.clear();
    };
  }

  async #poll(): Promise<void> {
    try {
      const runs = await (await this.#ci.client()).list(LIST_LIMIT);
      if (this.#streams.size === 0) return;
      const now = new Map(runs.map((run) => [Number(run.id), JSON.stringify(runSummary(run))]));
      if (!this.#polled) {
        this.#polled = true;
        for (const stream of this.#streams) stream.send("runs", runs.map(runSummary));
      } else {
        for (const [id, text] of now) if (this.#sent.get(id) !== text) this.#broadcast("run", JSON.parse(text), `run ${id}`);
        for (const id of this.#sent.keys()) if (!now.has(id)) this.#broadcast("gone", { id }, `gone ${id}`);
      }
      this.#sent = now;
    } catch {
      // The ci backend is restarting: the next poll finds it again.
    }
    if (this.#streams.size > 0) this.#timer = setTimeout(() => void this.#poll(), LIST_POLL_MS);
  }

  #broadcast(event: string, data: unknown, key: string): void {
    for (const stream of this.#streams) stream.send(event, data, key);
  }
}

type RunListener = (run: CiRun | undefined) => void;

/** One run's watch and who listens to it. `undefined` to a listener: the run is not there (or is gone). */
class RunFeed {
  readonly listeners = new Set<RunListener>();
  readonly #abort = new AbortController();
  latest: CiRun | undefined;
  #missing = false;

  constructor(
    readonly id: number,
    ci: CiLink,
  ) {
    void this.#watch(ci);
  }

  add(listener: RunListener): void {
    this.listeners.add(listener);
    if (this.latest || this.#missing) listener(this.latest);
  }

  stop(): void {
    this.#abort.abort();
  }

  async #watch(ci: CiLink): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      try {
        this.#tell(await (await ci.client()).watch(this.id, (run) => this.#tell(run), { signal }));
        return;
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof CiRequestError && error.code === CiErrorCode.RUN_NOT_FOUND) {
          this.#missing = true;
          this.latest = undefined;
          for (const listener of this.listeners) listener(undefined);
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, REWATCH_MS));
      }
    }
  }

  #tell(run: CiRun): void {
    this.latest = run;
    for (const listener of this.listeners) listener(run);
  }
}

export class RunFeeds {
  readonly #ci: CiLink;
  readonly #feeds = new Map<number, RunFeed>();

  constructor(ci: CiLink) {
    this.#ci = ci;
  }

  /** How many listen, to any run. */
  get listeners(): number {
    let n = 0;
    for (const feed of this.#feeds.values()) n += feed.listeners.size;
    return n;
  }

  /** Calls `listener` with the run now (once known) and on each change; the returned function ends that. */
  listen(id: number, listener: RunListener): () => void {
    let feed = this.#feeds.get(id);
    if (!feed) {
      feed = new RunFeed(id, this.#ci);
      this.#feeds.set(id, feed);
    }
    feed.add(listener);
    const joined = feed;
    return () => {
      joined.listeners.delete(listener);
      if (joined.listeners.size > 0 || this.#feeds.get(id) !== joined) return;
      joined.stop();
      this.#feeds.delete(id);
    };
  }

  /** A browser's stream of run `id`: the whole run as `run` events, `gone` when there is none. */
  stream(id: number, stream: EventStream): () => void {
    return this.listen(id, (run) => (run ? stream.send("run", runDetail(run)) : stream.send("gone", { id })));
  }

  stopAll(): void {
    for (const feed of this.#feeds.values()) feed.stop();
    this.#feeds.clear();
  }
}
