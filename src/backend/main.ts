// Entry point of a backend worker: `node main.js SERVICE SOCKET`, launched by the broker with an IPC channel.
import { jsonLogger } from "../daemon/log.js";
import { BackendServer } from "./server.js";
import { createService } from "./services/index.js";

const [service, socketPath] = process.argv.slice(2);
const logger = jsonLogger(2, `backend:${service}`);

if (!service || !socketPath || !process.send) {
  logger.log("error", "a backend is started by quired: node main.js SERVICE SOCKET, with an IPC channel");
  process.exit(2);
}

try {
  const handler = await createService(service);
  await new BackendServer({ service, socketPath, handler, logger }).start();
} catch (error) {
  logger.log("error", "backend failed to start", { service, error: String(error) });
  process.exit(1);
}
