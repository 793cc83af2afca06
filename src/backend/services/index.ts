// Where a backend creates its service: the names are the registry's (src/daemon/services.ts), the code
// is here, so only the backend process that serves a service loads it.
import { SERVICE_NAMES, type ServiceName } from "../../daemon/services.js";
import type { ServiceHandler } from "../served-connection.js";
import { UnknownServiceError } from "../errors.js";
import { createEchoService } from "./echo.js";
import { createPtyService } from "./pty.js";

const factories: Record<ServiceName, () => ServiceHandler | Promise<ServiceHandler>> = {
  echo: createEchoService,
  pty: createPtyService,
};

export function createService(name: string): ServiceHandler | Promise<ServiceHandler> {
  const factory = (factories as Record<string, (() => ServiceHandler | Promise<ServiceHandler>) | undefined>)[name];
  if (!factory) throw new UnknownServiceError(name, SERVICE_NAMES);
  return factory();
}
