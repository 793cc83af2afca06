// The services quire ships. The broker launches one backend process per service on first need.
import type { Places } from "../../broker/paths.js";
import type { ServiceHandler } from "../client.js";
import { UnknownServiceError } from "../errors.js";
import { createCiService } from "./ci.js";
import { createEchoService } from "./echo.js";
import { createPtyService } from "./pty.js";

/** What a service is told about the daemon it runs under. */
export interface ServiceContext {
  places: Places;
}

const services: Record<string, (context: ServiceContext) => ServiceHandler | Promise<ServiceHandler>> = {
  echo: createEchoService,
  pty: createPtyService,
  ci: createCiService,
};

export const SERVICE_NAMES: readonly string[] = Object.keys(services);

export function createService(name: string, context: ServiceContext): ServiceHandler | Promise<ServiceHandler> {
  const factory = services[name];
  if (!factory) throw new UnknownServiceError(name, SERVICE_NAMES);
  return factory(context);
}
