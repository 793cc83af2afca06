// quirectl metrics: the daemon's metrics (broker and backends) in the Prometheus text format, or with
// --json as families of samples.
import { adminCall, AdminOp } from "../client/admin-calls.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printError, printJson } from "./output.js";

export interface JsonFamily {
  name: string;
  type: string;
  help: string;
  /** Histograms' samples are named with their suffix (`_bucket`, `_sum`, `_count`). */
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

export async function showMetrics(args: GlobalArgs): Promise<number> {
  const { ok, detail, metricsText } = await adminCall(AdminOp.METRICS, { home: args.home });
  if (!ok) {
    printError(`metrics failed: ${detail}`);
    return ExitCode.Failed;
  }
  if (args.json) printJson({ metrics: metricsJson(metricsText) });
  else process.stdout.write(metricsText);
  return ExitCode.Ok;
}

/** The text format as families (HELP and TYPE lines open a family; samples join the family they name). */
export function metricsJson(text: string): JsonFamily[] {
  const families = new Map<string, JsonFamily>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: "untyped", help: "", samples: [] }));
    return f;
  };
  for (const line of text.split("\n")) {
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (meta[1] === "HELP") f.help = meta[3]!.replace(/\\n/g, "\n").replace(/\\\\/g, "\\");
      else f.type = meta[3]!;
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) continue;
    const name = sample[1]!;
    const base = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
    const labels: Record<string, string> = {};
    for (const m of (sample[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    family(base).samples.push({ name, labels, value: Number(sample[3]) });
  }
  return [...families.values()];
}
