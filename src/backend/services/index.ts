// Where a backend creates its service: the names are the registry's (src/daemon/services.ts), the code
// is here, so only the backend process that serves a service loads it.
import type { MetricFamily } from "../../daemon/metrics.js";
import type { Logger } from "../../daemon/log.js";
import type { Places } from "../../daemon/places.js";
import { SERVICE_NAMES, type ServiceName } from "../../daemon/services.js";
import type { ServiceHandler } from "../served-connection.js";
import { UnknownServiceError } from "../errors.js";
import { createCiService } from "./ci.js";
import { createEchoService } from "./echo.js";
import { createPtyService } from "./pty.js";

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

type Factory = (context: ServiceContext) => Service | Promise<Service>;

const factories: Record<ServiceName, Factory> = {
  echo: createEchoService,
  pty: createPtyService,
  ci: createCiService,
};

export function createService(name: string, context: ServiceContext): Service | Promise<Service> {
  const factory = (factories as Record<string, Factory | undefined>)[name];
  if (!factory) throw new UnknownServiceError(name, SERVICE_NAMES);
  return factory(context);
}
