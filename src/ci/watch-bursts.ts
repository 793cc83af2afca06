// Every fs.watch of a process shares one inotify queue, and when the kernel's queue is full it drops
// events and queues one IN_Q_OVERFLOW, which libuv discards: Node never says events were lost. But libuv
// reads the queue whole in one poll phase, so an overflow shows as one turn of the event loop bringing
// about as many events as the queue holds. Each fs.watch callback of the ci backend counts its events
// here (the tree watchers and the log followers alike), and a turn that brings a burst tells whoever
// must not miss an event (a tree watcher, which then answers "everything").
import { readFileSync } from "node:fs";

export interface BurstListener {
  /** A turn of the event loop brought this many events or more: some may have been lost. */
  readonly burstLimit: number;
  onBurst(): void;
}

class WatchBursts {
  readonly #listeners = new Set<BurstListener>();
  #events = 0;
  #counting = false;

  listen(listener: BurstListener): void {
    this.#listeners.add(listener);
  }

  unlisten(listener: BurstListener): void {
    this.#listeners.delete(listener);
  }

  /** Counts one event of any fs.watch of this process; a burst is told to the listeners whose limit it reached. */
  count(): void {
    if (!this.#counting) {
      this.#counting = true;
      setImmediate(() => {
        this.#counting = false;
        this.#events = 0;
      });
    }
    const events = ++this.#events;
    for (const listener of [...this.#listeners]) if (events >= listener.burstLimit) listener.onBurst();
  }
}

export const watchBursts = new WatchBursts();

/** Half the kernel's inotify queue (max_queued_events, 16,384 by default): a turn bringing that many may have lost some. */
export function kernelBurstLimit(): number {
  try {
    const queued = Number(readFileSync("/proc/sys/fs/inotify/max_queued_events", "utf8"));
    return queued > 1 ? Math.floor(queued / 2) : 8192;
  } catch {
    return 8192;
  }
}
