// The admin lane 0xAD01, served by the broker itself on connections whose first frame is an admin request.
import { AdminRequest, AdminRequest_Op, AdminResponse, type DaemonStatus } from "../gen/quire/v1/admin.js";

export interface AdminContext {
  status(): DaemonStatus;
  ready(): { ok: boolean; detail: string };
  /** Asks the backends for theirs, with a deadline. */
  metrics(): Promise<string>;
  /** Starts the drain; the reply is sent before the broker stops. */
  shutdown(): void;
}

/** The response, or a promise of it (METRICS waits for the backends); the admin server keeps answers in order. */
export function handleAdmin(
  payload: Uint8Array,
  ctx: AdminContext,
): { response: AdminResponse | Promise<AdminResponse>; op: string; after?: () => void } {
  let request: AdminRequest;
  try {
    request = AdminRequest.decode(payload);
  } catch (error) {
    return {
      op: "malformed",
      response: AdminResponse.fromPartial({ ok: false, detail: `AdminRequest is malformed: ${(error as Error).message}` }),
    };
  }
  switch (request.op) {
    case AdminRequest_Op.STATUS:
      return { op: "status", response: AdminResponse.fromPartial({ ok: true, status: ctx.status() }) };
    case AdminRequest_Op.HEALTHZ:
      return { op: "healthz", response: AdminResponse.fromPartial({ ok: true, detail: "quired is alive" }) };
    case AdminRequest_Op.READYZ:
      return { op: "readyz", response: AdminResponse.fromPartial(ctx.ready()) };
    case AdminRequest_Op.METRICS:
      return { op: "metrics", response: ctx.metrics().then((metricsText) => AdminResponse.fromPartial({ ok: true, metricsText })) };
    case AdminRequest_Op.SHUTDOWN:
      return {
        op: "shutdown",
        response: AdminResponse.fromPartial({
          ok: true,
          detail: "draining: no new clients; backends finish their work, then quired exits",
        }),
        after: () => ctx.shutdown(),
      };
    default:
      return {
        op: "unknown",
        response: AdminResponse.fromPartial({
          ok: false,
          detail: `unknown admin op ${request.op}; this quired knows STATUS, HEALTHZ, READYZ, METRICS, SHUTDOWN`,
        }),
      };
  }
}
