// Where a backend creates its service: the names are the registry's (src/daemon/services.ts), the code
// is here, so only the backend process that serves a service loads it.
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
}

type Factory = (context: ServiceContext) => ServiceHandler | Promise<ServiceHandler>;

const factories: Record<ServiceName, Factory> = {
  echo: createEchoService,
  pty: createPtyService,
  ci: createCiService,
};

export function createService(name: string, context: ServiceContext): ServiceHandler | Promise<ServiceHandler> {
  const factory = (factories as Record<string, Factory | undefined>)[name];
  if (!factory) throw new UnknownServiceError(name, SERVICE_NAMES);
  return factory(context);
}
