// Retention in the ci backend: the collector over the runner's store, logs, workspaces and caches, a pass
// at start and after each run has ended (and settled), what a pass removed in quired.log, and the report
// as the ci lane carries it (CiGcReport).
import { join } from "node:path";
import { GarbageCollector, type GcReport } from "../../../ci/gc/collector.js";
import type { Bounds, RetentionLimits } from "../../../ci/gc/limits.js";
import type { Runner } from "../../../ci/runner/runner.js";
import type { RunStore } from "../../../ci/store/index.js";
import { CiGcReport, type CiBounds } from "../../../gen/quire/v1/ci.js";
import type { ServiceContext } from "../service.js";

/** The collector for `runner`'s runs, passing by itself at start and whenever a run has ended. */
export function startRetention(runner: Runner, store: RunStore, limits: RetentionLimits, context: ServiceContext): GarbageCollector {
  const collector = new GarbageCollector({
    store,
    logDir: context.places.logDir,
    workspaces: runner.workspaces,
    cacheDir: join(context.places.dataDir, "cache"),
    limits,
    settled: (id) => runner.settled(id),
    forgetRuns: () => runner.forgetTrees(),
  });
  const pass = () => collector.schedule((outcome) => logPass(context, outcome));
  runner.on("changed", (id: number) => {
    let live: boolean;
    try {
      live = runner.isLive(id);
    } catch {
      return; // removed meanwhile
    }
    if (!live) void runner.settled(id).then(pass);
  });
  pass();
  return collector;
}

function logPass(context: ServiceContext, outcome: GcReport | Error): void {
  if (outcome instanceof Error) {
    context.logger?.log("warn", "retention pass failed", { error: outcome.message });
    return;
  }
  if (outcome.removed.length === 0) return;
  const count = (kind: string) => outcome.removed.filter((item) => item.kind === kind).length;
  context.logger?.log("info", "retention pass", {
    runs: count("run"),
    workspaces: count("workspace"),
    spares: count("spare"),
    caches: count("cache"),
    leftovers: count("leftover"),
    freedBytes: outcome.freedBytes,
  });
}

/** `report` as the ci lane carries it. */
export function gcMessage(report: GcReport): CiGcReport {
  const usage = (u: { count: number; bytes: number }) => ({ count: BigInt(u.count), bytes: BigInt(u.bytes) });
  return CiGcReport.fromPartial({
    dryRun: report.dryRun,
    removed: report.removed.map((item) => ({
      kind: item.kind,
      runId: BigInt(item.runId ?? 0),
      name: item.name ?? "",
      reason: item.reason,
      bytes: BigInt(item.bytes),
    })),
    freedBytes: BigInt(report.freedBytes),
    keptRuns: usage(report.kept.runs),
    keptWorkspaces: usage(report.kept.workspaces),
    keptCaches: usage(report.kept.caches),
    limits: { runs: bounds(report.limits.runs), workspaces: bounds(report.limits.workspaces), caches: bounds(report.limits.caches) },
    deferred: report.deferred,
  });
}

function bounds(b: Bounds): CiBounds {
  const n = (value: number) => (value === Infinity ? undefined : BigInt(value));
  return { count: n(b.count), ageMs: n(b.ageMs), bytes: n(b.bytes) };
}
