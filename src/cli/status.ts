// quirectl status: the daemon and its backends.
import type { DaemonStatus } from "../gen/quire/v1/admin.js";
import { adminCall, AdminOp } from "../client/admin-calls.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { formatDuration, isoOrNull, printJson, println, table } from "./output.js";

/** The daemon status as scripts see it (`quirectl status --json`). */
export function statusJson(s: DaemonStatus) {
  return {
    version: s.daemonVersion,
    pid: s.pid,
    started_at: isoOrNull(s.startedUnixMs),
    uptime_ms: Number(s.uptimeMs),
    socket: s.socket,
    home: s.home || null,
    protocol: { min: s.minProtocol, max: s.maxProtocol },
    draining: s.draining,
    backends: s.backends.map((b) => ({
      service: b.service,
      state: b.state,
      pid: b.pid || null,
      clients: b.clients,
      restarts: b.restarts,
      socket: b.socket,
      started_at: isoOrNull(b.startedUnixMs),
      last_error: b.lastError || null,
    })),
  };
}

export async function showStatus(args: GlobalArgs): Promise<number> {
  const response = await adminCall(AdminOp.STATUS, { home: args.home });
  const s = response.status!;
  if (args.json) {
    printJson(statusJson(s));
    return ExitCode.Ok;
  }
  println(`quired ${s.daemonVersion}  pid ${s.pid}  up ${formatDuration(Number(s.uptimeMs))}${s.draining ? "  (draining)" : ""}`);
  println(`socket ${s.socket}`);
  println();
  println(
    table([
      ["SERVICE", "STATE", "PID", "CLIENTS", "RESTARTS", "LAST ERROR"],
      ...s.backends.map((b) => [
        b.service,
        b.state,
        b.pid ? String(b.pid) : "-",
        String(b.clients),
        String(b.restarts),
        b.lastError || "-",
      ]),
    ]),
  );
  return ExitCode.Ok;
}
