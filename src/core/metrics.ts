// Metric families as plain data, a histogram, and the Prometheus text exposition format. The broker renders
// its own families and those its backends report over the control channel (`metrics`), so the shapes
// live here, below both.

export type MetricType = "counter" | "gauge" | "histogram";
export type Labels = Record<string, string>;

export interface MetricSample {
  labels: Labels;
  /** Counter or gauge value; for a histogram, the count of observations. */
  value: number;
  /** Histograms: cumulative counts, one per bound of the family (the +Inf bucket is `value`). */
  buckets?: number[];
  /** Histograms: the sum of observations. */
  sum?: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  /** Histograms: the upper bounds of the buckets, ascending, +Inf left out. */
  bounds?: number[];
  samples: MetricSample[];
}

/** Observations by label set into fixed buckets. */
export class Histogram {
  readonly #series = new Map<string, { labels: Labels; counts: number[]; sum: number; count: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}

  observe(value: number, labels: Labels = {}): void {
    const key = renderLabels(labels);
    let s = this.#series.get(key);
    if (!s) this.#series.set(key, (s = { labels, counts: this.bounds.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  family(): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: "histogram",
      bounds: [...this.bounds],
      samples: [...this.#series.values()].map((s) => ({ labels: s.labels, value: s.count, buckets: [...s.counts], sum: s.sum })),
    };
  }
}

/** Families in the text format. Families sharing a name (one per backend) are merged under one HELP and TYPE. */
export function renderFamilies(families: readonly MetricFamily[]): string {
  const merged = new Map<string, MetricFamily>();
  for (const f of families) {
    const seen = merged.get(f.name);
    if (seen && seen.type === f.type) seen.samples.push(...f.samples);
    else if (!seen) merged.set(f.name, { ...f, samples: [...f.samples] });
  }
  const lines: string[] = [];
  for (const f of merged.values()) {
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      if (f.type !== "histogram") {
        lines.push(`${f.name}${renderLabels(s.labels)} ${formatValue(s.value)}`);
        continue;
      }
      const bounds = f.bounds ?? [];
      for (const [i, le] of bounds.entries())
        lines.push(`${f.name}_bucket${renderLabels({ ...s.labels, le: formatValue(le) })} ${s.buckets?.[i] ?? 0}`);
      lines.push(`${f.name}_bucket${renderLabels({ ...s.labels, le: "+Inf" })} ${s.value}`);
      lines.push(`${f.name}_sum${renderLabels(s.labels)} ${formatValue(s.sum ?? 0)}`);
      lines.push(`${f.name}_count${renderLabels(s.labels)} ${s.value}`);
    }
  }
  return lines.join("\n") + "\n";
}

/** `{a="x",b="y"}`, or "" for no labels; values escaped as the format asks. */
export function renderLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return "{" + entries.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",") + "}";
}

function formatValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** A family's samples with `labels` added to each (the broker adds `service` to what a backend reports). */
export function withLabels(family: MetricFamily, labels: Labels): MetricFamily {
  return { ...family, samples: family.samples.map((s) => ({ ...s, labels: { ...labels, ...s.labels } })) };
}

/** Is this a well-formed family, as far as rendering needs? Backends are trusted, but not to be bug-free. */
export function isMetricFamily(value: unknown): value is MetricFamily {
  const f = value as MetricFamily;
  return (
    typeof f === "object" &&
    f !== null &&
    typeof f.name === "string" &&
    /^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.name) &&
    typeof f.help === "string" &&
    (f.type === "counter" || f.type === "gauge" || f.type === "histogram") &&
    Array.isArray(f.samples)
  );
}
