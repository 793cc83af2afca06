// The broker's own counters and histograms; rendering (Prometheus text) is src/core/metrics.ts's.
import { Histogram, renderLabels, type Labels, type MetricFamily } from "../core/metrics.js";

const HELP = {
  quire_connections_total: "Connections accepted by the broker",
  quire_hellos_total: "Hellos received",
  quire_negotiated_total: "Hellos answered with Negotiated, by path (handoff or reconnect)",
  quire_refused_total: "Hellos answered with Refused, by code",
  quire_handoffs_total: "Handoffs to a backend, by outcome",
  quire_frame_errors_total: "Connections closed for a malformed first frame, by error code",
  quire_first_frame_timeouts_total: "Connections closed for sending no first frame in time",
  quire_admin_requests_total: "Admin lane requests, by op",
  quire_backend_idle_stops_total: "Backends stopped because they were idle, by service",
} as const;

type Counter = keyof typeof HELP;

/** Seconds from Negotiated written to the backend's ACK: where a handoff's time goes. */
const HANDOFF_BOUNDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics {
  readonly #counters = new Map<Counter, Map<string, { labels: Labels; value: number }>>();
  readonly handoffAck = new Histogram(
    "quire_handoff_ack_seconds",
    "Time from Negotiated to the backend's ACK of a handoff, by service",
    HANDOFF_BOUNDS,
  );

  inc(name: Counter, labels: Labels = {}): void {
    let series = this.#counters.get(name);
    if (!series) this.#counters.set(name, (series = new Map()));
    const key = renderLabels(labels);
    const s = series.get(key);
    if (s) s.value++;
    else series.set(key, { labels, value: 1 });
  }

  get(name: Counter, labels: Labels = {}): number {
    return this.#counters.get(name)?.get(renderLabels(labels))?.value ?? 0;
  }

  /** Every counter (those never incremented with no samples) and the histograms. */
  families(): MetricFamily[] {
    const counters = Object.entries(HELP).map(
      ([name, help]): MetricFamily => ({
        name,
        help,
        type: "counter",
        samples: [...(this.#counters.get(name as Counter)?.values() ?? [])].map((s) => ({ labels: s.labels, value: s.value })),
      }),
    );
    return [...counters, this.handoffAck.family()];
  }
}
