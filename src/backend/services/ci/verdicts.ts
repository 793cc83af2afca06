// Where people see a run's verdict without asking for it: each repository's status file (for shell
// prompts, rewritten whenever one of its runs changes state) and, for a run that nobody waits on (its
// submit asked), a desktop notification when it ends.
import { join } from "node:path";
import { sendNotification, notificationOf, type NotifyOutcome } from "../../../ci/notify/desktop-notification.js";
import type { Runner } from "../../../ci/runner/runner.js";
import { refStatuses, STATUS_REFS_MAX, writeStatusFile } from "../../../ci/status/status-file.js";
import type { RunState, RunStore } from "../../../ci/store/index.js";
import type { ServiceContext } from "../service.js";

const ENDED: ReadonlySet<string> = new Set(["complete", "failed", "cancelled", "superseded"]);

export interface VerdictOptions {
  /** Shows a notification; sendNotification unless a test says otherwise. */
  notify?: typeof sendNotification;
}

/** Follows every run's state; returns a promise that settles once the notifications sent so far have gone. */
export function reportVerdicts(
  runner: Runner,
  store: RunStore,
  context: ServiceContext,
  options: VerdictOptions = {},
): { sent(): Promise<void>; held(): number } {
  const statusDir = join(context.places.dataDir, "status");
  const notify = options.notify ?? sendNotification;
  const states = new Map<number, RunState>();
  const inFlight = new Set<Promise<unknown>>();
  let warnedNoDesktop = false;

  runner.on("changed", (id: number) => {
    const state = store.runState(id);
    if (state === undefined || states.get(id) === state) return;
    // A run's change is seen by its first step's start and many more: only state changes are acted on.
    if (ENDED.has(state)) states.delete(id);
    else states.set(id, state);
    const view = runner.get(id);
    try {
      writeStatusFile(statusDir, view.repo, refStatuses(store.newestRunsOfRepo(view.repo, STATUS_REFS_MAX * 4)));
    } catch (error) {
      context.logger?.log("warn", "could not write the status file", { repo: view.repo, error: (error as Error).message });
    }
    if (!view.notify || !ENDED.has(state) || state === "superseded") return;
    const sending = notify(notificationOf(view)).then((outcome: NotifyOutcome) => {
      if (outcome.sent) return;
      // Said once per backend: a machine without a desktop has none for every run.
      if (!warnedNoDesktop) context.logger?.log("warn", "no desktop notification", { runId: id, why: outcome.why });
      warnedNoDesktop = true;
    });
    inFlight.add(sending);
    void sending.finally(() => inFlight.delete(sending));
  });

  return { sent: async () => void (await Promise.all(inFlight)), held: () => states.size };
}
