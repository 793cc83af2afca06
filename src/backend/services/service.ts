// What a service is and what it is told: the contract between the backend and each service module.
import type { Logger } from "../../core/log.js";
import type { MetricFamily } from "../../core/metrics.js";
import type { Places } from "../../core/places.js";
import type { ServiceHandler } from "../served-connection.js";

/** What a service is told about the daemon it runs under. */
export interface ServiceContext {
  places: Places;
  /** The backend's log (quired.log, through the broker). */
  logger?: Logger;
}

/** A service: it serves frames, and may report metrics and whether it has work a stop would lose. */
export interface Service extends ServiceHandler {
  /** Its metric families now; the broker adds the service label. */
  metrics?(): MetricFamily[];
  /** Why it must not be stopped for idleness (sessions, live runs), or undefined when it may be. */
  busy?(): string | undefined;
}
