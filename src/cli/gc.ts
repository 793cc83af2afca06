// quirectl gc [--dry-run]: the daemon applies its retention limits now and says what it removed and freed
// (dry: what it would). The daemon does the same by itself after runs end; this is for seeing it happen.
import { formatBytes } from "../ci/disk-space.js";
import { formatBound } from "../ci/gc/limits.js";
import type { CiBounds, CiGcItem, CiGcReport } from "../gen/quire/v1/ci.js";
import { withCi } from "./ci.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printJson, println, visible } from "./output.js";

export interface GcArgs extends GlobalArgs {
  dryRun: boolean;
}

export async function collectGarbage(args: GcArgs): Promise<number> {
  return withCi(args, async (ci) => {
    const report = await ci.gc({ dryRun: args.dryRun });
    if (args.json) printJson(gcJson(report));
    else printGc(report);
    return ExitCode.Ok;
  });
}

/** The report as scripts see it: snake_case, sizes in bytes, a bound that is not there as null. */
export function gcJson(report: CiGcReport) {
  const usage = (u: CiGcReport["keptRuns"]) => ({ count: Number(u?.count ?? 0), bytes: Number(u?.bytes ?? 0) });
  const bounds = (b: CiBounds | undefined) => ({ count: num(b?.count), age_ms: num(b?.ageMs), bytes: num(b?.bytes) });
  return {
    dry_run: report.dryRun,
    freed_bytes: Number(report.freedBytes),
    removed: report.removed.map((item) => ({
      kind: item.kind,
      run: item.runId ? Number(item.runId) : null,
      name: item.name || null,
      reason: item.reason,
      bytes: Number(item.bytes),
    })),
    kept: { runs: usage(report.keptRuns), workspaces: usage(report.keptWorkspaces), caches: usage(report.keptCaches) },
    limits: { runs: bounds(report.limits?.runs), workspaces: bounds(report.limits?.workspaces), caches: bounds(report.limits?.caches) },
    deferred: report.deferred,
  };
}

const num = (value: bigint | undefined) => (value === undefined ? null : Number(value));

const NOUNS: Record<string, [string, string]> = {
  run: ["run", "runs"],
  workspace: ["kept workspace", "kept workspaces"],
  spare: ["spare workspace", "spare workspaces"],
  cache: ["cache entry", "cache entries"],
  leftover: ["leftover", "leftovers"],
};

function printGc(report: CiGcReport): void {
  const verb = report.dryRun ? "would remove" : "removed";
  const limits = report.limits;
  if (report.removed.length === 0) println(`nothing to remove: everything is within the limits`);
  else {
    println(`${verb} ${phrase(report.removed)}, ${report.dryRun ? "freeing" : "freed"} ${formatBytes(Number(report.freedBytes))}:`);
    for (const [kind, reason, items] of groups(report.removed)) {
      const bytes = items.reduce((sum, i) => sum + Number(i.bytes), 0);
      const bound =
        kind === "run" ? limits?.runs : kind === "workspace" ? limits?.workspaces : kind === "cache" ? limits?.caches : undefined;
      println(`  ${count(items.length, kind)} ${why(reason, kind, bound)} (${formatBytes(bytes)})`);
    }
  }
  for (const kind of report.deferred) println(`${visible(kind)}: left for a later pass while runs are live (a step may be restoring one)`);
  const kept = (u: CiGcReport["keptRuns"], kind: string) => `${count(Number(u?.count ?? 0), kind)} (${formatBytes(Number(u?.bytes ?? 0))})`;
  println(
    `${report.dryRun ? "would keep" : "kept"}: ${kept(report.keptRuns, "run")}, ${kept(report.keptWorkspaces, "workspace")}, ${kept(report.keptCaches, "cache")}`,
  );
  println(
    `limits: runs ${bounds(limits?.runs, "of logs")}; kept workspaces ${bounds(limits?.workspaces)}; caches ${bounds(limits?.caches)} (quired --help: --keep-...)`,
  );
}

function phrase(items: CiGcItem[]): string {
  const kinds = ["run", "workspace", "spare", "cache", "leftover"].filter((kind) => items.some((i) => i.kind === kind));
  return kinds.map((kind) => count(items.filter((i) => i.kind === kind).length, kind)).join(", ");
}

function groups(items: CiGcItem[]): [string, string, CiGcItem[]][] {
  const out = new Map<string, [string, string, CiGcItem[]]>();
  for (const item of items) {
    const key = `${item.kind}/${item.reason}`;
    if (!out.has(key)) out.set(key, [item.kind, item.reason, []]);
    out.get(key)![2].push(item);
  }
  return [...out.values()];
}

function count(n: number, kind: string): string {
  const [one, many] = NOUNS[kind] ?? [kind, `${kind}s`];
  return `${n} ${n === 1 ? one : many}`;
}

function why(reason: string, kind: string, bound: CiBounds | undefined): string {
  switch (reason) {
    case "count":
      return kind === "spare" ? "beyond the most recently used" : `beyond the newest ${bound?.count ?? "?"}`;
    case "age":
      return `older than ${bound?.ageMs === undefined ? "?" : formatBound("ageMs", Number(bound.ageMs))}`;
    case "size":
      return `beyond ${bound?.bytes === undefined ? "?" : formatBound("bytes", Number(bound.bytes))}${kind === "run" ? " of logs" : ""}`;
    case "run":
      return "whose run was removed";
    case "superseded":
      return "superseded by a removed run";
    case "gone":
      return "whose working copy is not there any more";
    default:
      return "left by an interrupted pass";
  }
}

function bounds(b: CiBounds | undefined, bytesOf = ""): string {
  const show = (measure: "count" | "ageMs" | "bytes") => formatBound(measure, b?.[measure] === undefined ? Infinity : Number(b[measure]));
  return `${show("count")}, ${show("ageMs")}, ${show("bytes")}${bytesOf ? ` ${bytesOf}` : ""}`;
}
