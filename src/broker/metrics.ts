// The broker's counters and gauges, rendered in the Prometheus text exposition format.

const HELP = {
  quire_connections_total: "Connections accepted by the broker",
  quire_hellos_total: "Hellos received",
  quire_negotiated_total: "Hellos answered with Negotiated, by path",
  quire_refused_total: "Hellos answered with Refused, by code",
  quire_handoffs_total: "Handoffs to a backend, by outcome",
  quire_frame_errors_total: "Connections closed for a malformed first frame, by error code",
  quire_first_frame_timeouts_total: "Connections closed for sending no first frame in time",
  quire_admin_requests_total: "Admin lane requests, by op",
} as const;

type Counter = keyof typeof HELP;

export class Metrics {
  readonly #counters = new Map<string, number>();

  inc(name: Counter, labels: Record<string, string> = {}): void {
    const key = name + renderLabels(labels);
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + 1);
  }

  get(name: Counter, labels: Record<string, string> = {}): number {
    return this.#counters.get(name + renderLabels(labels)) ?? 0;
  }

  /** `gauges` are read at render time from the broker's live state. */
  render(gauges: Record<string, { help: string; values: [Record<string, string>, number][] }>): string {
    const lines: string[] = [];
    for (const [name, help] of Object.entries(HELP)) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} counter`);
      for (const [key, value] of this.#counters) if (key === name || key.startsWith(name + "{")) lines.push(`${key} ${value}`);
    }
    for (const [name, { help, values }] of Object.entries(gauges)) {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const [labels, value] of values) lines.push(`${name}${renderLabels(labels)} ${value}`);
    }
    return lines.join("\n") + "\n";
  }
}

function renderLabels(labels: Record<string, string>): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return "{" + entries.map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, "_")}"`).join(",") + "}";
}
