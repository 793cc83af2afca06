// Entry point of a backend worker: `node main.js SERVICE SOCKET [HOME]`, launched by the broker with an IPC
// channel. HOME is the broker's --home (empty when it uses the default places, which the same environment
// gives here). Its stdout and stderr are pipes the broker reads into quired.log, a line at a time.
import { isControlMessage, type BackendMessage, type BrokerMessage } from "../core/control.js";
import { backendLogTarget, jsonLogger } from "../core/log.js";
import { resolvePlaces } from "../core/places.js";
import { BackendServer } from "./server.js";
import { createService, type Service } from "./services/index.js";

const [service, socketPath, home] = process.argv.slice(2);
const places = resolvePlaces({ home: home || undefined });
const logger = jsonLogger(backendLogTarget(places.logFile), `backend:${service}`);

if (!service || !socketPath || !process.send) {
  logger.log("error", "a backend is started by quired: node main.js SERVICE SOCKET [HOME], with an IPC channel");
  process.exit(2);
}

try {
  const handler = await createService(service, { places, logger });
  answerObservations(handler);
  await new BackendServer({ service, socketPath, handler, logger, orphanGraceMs: orphanGraceFromEnv() }).start();
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  logger.log("error", "backend failed to start", { service, error: message });
  // The broker shows the reason in status and in the clients' refusals, not just "exited with code 1".
  process.send({ t: "failed", error: message }, () => process.exit(1));
}

/** QUIRE_ORPHAN_GRACE_MS, for tests: a short grace makes the drain of an orphaned backend run out. */
function orphanGraceFromEnv(): number | undefined {
  const ms = Number(process.env.QUIRE_ORPHAN_GRACE_MS);
  return process.env.QUIRE_ORPHAN_GRACE_MS && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/** The broker asks for metrics (METRICS) and whether the service is idle (--backend-idle-ms). */
function answerObservations(handler: Service): void {
  const tell = (message: BackendMessage) => {
    if (!process.connected) return;
    try {
      process.send!(message, () => {});
    } catch {}
  };
  process.on("message", (message: unknown) => {
    if (!isControlMessage(message)) return;
    const m = message as BrokerMessage;
    if (m.t === "metrics") {
      let families: ReturnType<NonNullable<Service["metrics"]>> = [];
      try {
        families = handler.metrics?.() ?? [];
      } catch (error) {
        logger.log("warn", "metrics failed", { error: String(error) });
      }
      tell({ t: "metrics", seq: m.seq, families });
    } else if (m.t === "idle") {
      const why = handler.busy?.();
      tell({ t: "idle", seq: m.seq, idle: why === undefined, why: why ?? "" });
    }
  });
}
