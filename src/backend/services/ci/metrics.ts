// What the ci service reports on METRICS: the store's counts, and what it observes of runs as they end
// (durations, output bytes), which it also logs.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Runner } from "../../../ci/runner/runner.js";
import type { RunStore } from "../../../ci/store/index.js";
import { Histogram, type MetricFamily } from "../../../core/metrics.js";
import type { ServiceContext } from "../service.js";

/** Run durations, seconds: from a second to an hour. */
const DURATION_BOUNDS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

export interface RunObservations {
  durations: Histogram;
  /** Bytes of step output (their logs), counted as each run ends. */
  outputBytes: number;
  /** Runs seen live and not yet seen ended. */
  live(): number;
}

/** Follows runs from live to ended: their duration and output for metrics, a log line with the run id. */
export function observeRuns(runner: Runner, context: ServiceContext): RunObservations {
  const observed: RunObservations = {
    durations: new Histogram(
      "quire_ci_run_duration_seconds",
      "Wall time of ended runs, from start (or creation) to end, by final state",
      DURATION_BOUNDS,
    ),
    outputBytes: 0,
    live: () => live.size,
  };
  const live = new Set<number>();
  // Every step's start and end is a change: only a run's first and last are worth reading it whole.
  runner.on("changed", (id: number) => {
    let isLive: boolean;
    try {
      isLive = runner.isLive(id);
    } catch {
      return;
    }
    if (isLive) {
      if (live.has(id)) return;
      live.add(id);
      const view = runner.get(id);
      context.logger?.log("info", "run submitted", { runId: id, repo: view.repo, ref: view.ref, pipeline: view.pipeline });
      return;
    }
    if (!live.delete(id)) return;
    const view = runner.get(id);
    const seconds = Math.max(0, (view.finishedAt ?? Date.now()) - (view.startedAt ?? view.createdAt)) / 1000;
    observed.durations.observe(seconds, { state: view.state });
    const bytes = treeBytes(join(context.places.logDir, String(id)));
    observed.outputBytes += bytes;
    context.logger?.log("info", "run ended", {
      runId: id,
      state: view.state,
      failureKind: view.failureKind ?? undefined,
      seconds,
      outputBytes: bytes,
    });
  });
  return observed;
}

/**
 * `held`: what the backend keeps for runs, by structure (executions, watchers, followers, processes kept
 * for their leftovers...): every one of them is 0 once the runs have ended and settled, however many ran.
 */
export function ciMetrics(store: RunStore, observed: RunObservations, held: Record<string, number> = {}): MetricFamily[] {
  const stats = store.stats();
  return [
    {
      name: "quire_ci_held",
      help: "What the ci backend holds for runs now, by structure; 0 once every run has ended and settled",
      type: "gauge",
      samples: Object.entries(held).map(([what, value]) => ({ labels: { what }, value })),
    },
    {
      name: "quire_ci_runs",
      help: "Runs in the store, by state and failure_kind",
      type: "gauge",
      samples: stats.runsByOutcome.map((r) => ({ labels: { state: r.state, failure_kind: r.failureKind }, value: r.n })),
    },
    { name: "quire_ci_jobs_running", help: "Jobs active now", type: "gauge", samples: [{ labels: {}, value: stats.jobsActive }] },
    { name: "quire_ci_steps_running", help: "Steps active now", type: "gauge", samples: [{ labels: {}, value: stats.stepsActive }] },
    observed.durations.family(),
    {
      name: "quire_ci_output_bytes_total",
      help: "Bytes of step output (logs) of the runs ended since the backend started",
      type: "counter",
      samples: [{ labels: {}, value: observed.outputBytes }],
    },
  ];
}

/** Bytes of the files under `dir` (0 when it does not exist). */
function treeBytes(dir: string): number {
  let total = 0;
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(path);
    else if (entry.isFile()) {
      try {
        total += statSync(path).size;
      } catch {}
    }
  }
  return total;
}
