// The services quire ships. The broker launches one backend process per service on first need.
import type { ServiceHandler } from "../client.js";
import { UnknownServiceError } from "../errors.js";
import { createEchoService } from "./echo.js";
import { createPtyService } from "./pty.js";

const services: Record<string, () => ServiceHandler | Promise<ServiceHandler>> = {
  echo: createEchoService,
  pty: createPtyService,
};

export const SERVICE_NAMES: readonly string[] = Object.keys(services);

export function createService(name: string): ServiceHandler | Promise<ServiceHandler> {
  const factory = services[name];
  if (!factory) throw new UnknownServiceError(name, SERVICE_NAMES);
  return factory();
}
