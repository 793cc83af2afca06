// Where a backend creates its service: the names are the registry's (src/core/services.ts), the code
// is here, so only the backend process that serves a service loads it.
import { SERVICE_NAMES, type ServiceName } from "../../core/services.js";
import type { Service, ServiceContext } from "./service.js";
import { UnknownServiceError } from "../errors.js";
import { createCiService } from "./ci/index.js";
import { createEchoService } from "./echo.js";
import { createPtyService } from "./pty.js";
import { createWebService } from "./web.js";

export type { Service, ServiceContext } from "./service.js";

type Factory = (context: ServiceContext) => Service | Promise<Service>;

const factories: Record<ServiceName, Factory> = {
  echo: createEchoService,
  pty: createPtyService,
  ci: createCiService,
  web: createWebService,
};

export function createService(name: string, context: ServiceContext): Service | Promise<Service> {
  const factory = (factories as Record<string, Factory | undefined>)[name];
  if (!factory) throw new UnknownServiceError(name, SERVICE_NAMES);
  return factory(context);
}
