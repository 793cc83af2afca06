// Sending a run's step logs, and following them while they grow.
import { join } from "node:path";
import { followLog } from "../../../ci/output/log-file.js";
import type { Runner } from "../../../ci/runner/runner.js";
import type { CiRequest } from "../../../gen/quire/v1/ci.js";
import type { Frame } from "../../../gen/quire/v1/frame.js";
import type { ServedConnection } from "../../served-connection.js";
import type { CiReplies } from "./replies.js";
import type { Streams } from "./streams.js";

export interface LogParts {
  runner: Runner;
  replies: CiReplies;
  streams: Streams;
  /** Where the steps' logs are (a step names its log relative to it). */
  logDir: string;
}

/** Every selected step's log in job and step order; with follow, each one until it has ended. Then the run. */
export async function sendLogs(
  { runner, replies, streams, logDir }: LogParts,
  client: ServedConnection,
  request: Frame,
  op: NonNullable<CiRequest["logs"]>,
): Promise<void> {
  const id = Number(op.id);
  const view = runner.get(id);
  const abort = new AbortController();
  const aborted = new Promise<void>((resolve) => abort.signal.addEventListener("abort", () => resolve(), { once: true }));
  const untrack = streams.track(client, request.requestId, () => abort.abort());
  /**
   * `look()` now and after each change of the run, until it gives something, `settled()` says nothing
   * more will come, or the request ends. Listening starts before the first look, so no change is missed.
   */
  const afterChanges = async <T>(look: () => T | undefined, settled: () => boolean): Promise<T | undefined> => {
    for (;;) {
      let wake!: () => void;
      const woken = new Promise<void>((resolve) => (wake = resolve));
      const onChange = (changed: number) => changed === id && wake();
      runner.on("changed", onChange);
      abort.signal.addEventListener("abort", wake);
      try {
        const found = look();
        if (found !== undefined || abort.signal.aborted || settled()) return found;
        await woken;
      } finally {
        runner.off("changed", onChange);
        abort.signal.removeEventListener("abort", wake);
      }
    }
  };
  // A job's `n`th step. Following, a job that has run out of steps but not ended may still add some: a
  // failed attempt's retry is recorded only once what that attempt left behind has been ended.
  const stepAt = (job: string, n: number) =>
    afterChanges(
      () => runner.stepAt(id, job, n),
      () => !op.follow || !runner.isJobLive(id, job) || !runner.isLive(id),
    );
  try {
    for (const job of view.jobs) {
      if (op.job && job.name !== op.job) continue;
      for (let i = 0; ; i++) {
        const step = await stepAt(job.name, i);
        if (abort.signal.aborted) return;
        if (!step) break;
        if (op.step && step.name !== op.step) continue;
        const path = join(logDir, step.log);
        // A client that does not read is sent nothing more until its socket drains (or the request ends).
        const send = async (data: Buffer) => {
          replies.event(client, request, { log: { job: job.name, step: step.name, attempt: step.attempt, data } });
          if (client.backedUp) await Promise.race([client.drained(), aborted]);
        };
        if (op.follow) {
          const live = () => runner.isStepLive(id, job.name, step.attempt, step.index);
          // A pending step of a run that has ended never starts: nothing to wait for.
          if (live() && !runner.isLive(id)) continue;
          await followLog(path, send, () => live() && runner.isLive(id), abort.signal);
        } else {
          await followLog(path, send, () => false, abort.signal);
        }
        if (abort.signal.aborted) return;
      }
    }
    // Following the whole run, the answer is its end (its last job's end is recorded a little before).
    if (op.follow && !op.job && !op.step)
      await afterChanges(
        () => (runner.isLive(id) ? undefined : true),
        () => false,
      );
    if (abort.signal.aborted) return;
    replies.respond(client, request, { run: replies.run(runner.get(id)) });
  } finally {
    untrack();
  }
}
