// Watching a run: the run now, then on its changes, then the response at its end.
import type { Runner } from "../../../ci/runner/runner.js";
import type { Frame } from "../../../gen/quire/v1/frame.js";
import type { ServedConnection } from "../../served-connection.js";
import type { CiReplies } from "./replies.js";
import type { Streams } from "./streams.js";

/** A watcher is sent the run at most this often while it runs: each event is the whole run, and a live view needs no more. */
const WATCH_INTERVAL_MS = 20;

export interface WatchParts {
  runner: Runner;
  replies: CiReplies;
  streams: Streams;
}

/**
 * The run now, then on its changes, then the response at its end. Changes are coalesced: an event at
 * most every WATCH_INTERVAL_MS, and the end at once. A client that does not read is sent nothing more
 * until it has caught up (its socket's drain), and then only the latest state.
 */
export function watchRun({ runner, replies, streams }: WatchParts, client: ServedConnection, request: Frame, id: number): void {
  runner.isLive(id); // an unknown run throws RunNotFoundError here, before anything is registered
  let ended = false;
  let lastSent = 0;
  /** A send waiting for the interval to pass. */
  let timer: NodeJS.Timeout | undefined;
  let immediate = false;
  /** A send waiting for the client to catch up: changes meanwhile are in the state it then reads. */
  let behind = false;
  const send = () => {
    timer = undefined;
    immediate = false;
    if (ended) return;
    if (client.backedUp) {
      behind = true;
      void client.drained().then(() => {
        behind = false;
        send();
      });
      return;
    }
    const view = runner.get(id);
    lastSent = performance.now();
    replies.event(client, request, { run: replies.run(view) });
    if (!runner.isLive(id)) finish();
  };
  const onChange = (changed: number) => {
    if (changed !== id || immediate || behind) return;
    const wait = lastSent + WATCH_INTERVAL_MS - performance.now();
    if (wait > 0 && runner.isLive(id)) {
      timer ??= setTimeout(send, wait);
      return;
    }
    clearTimeout(timer);
    immediate = true;
    setImmediate(send);
  };
  const stop = () => {
    ended = true;
    clearTimeout(timer);
    runner.off("changed", onChange);
  };
  const untrack = streams.track(client, request.requestId, stop);
  const finish = () => {
    stop();
    untrack();
    replies.respond(client, request, { run: replies.run(runner.get(id)) });
  };
  runner.on("changed", onChange);
  send();
}
