// Admin calls on the broker's lane 0xAD01: status, health, readiness, metrics, shutdown.
import { resolvePlaces } from "../core/places.js";
import { AdminRequest, AdminRequest_Op, AdminResponse } from "../gen/quire/v1/admin.js";
import { Frame_Kind } from "../gen/quire/v1/frame.js";
import { newFrame } from "../wire/framing.js";
import { Lane } from "../wire/lanes.js";
import { FramedSocket } from "./framed.js";

export { AdminRequest_Op as AdminOp };

export interface AdminOptions {
  home?: string;
  timeoutMs?: number;
}

/** One admin request on a fresh connection. Throws DaemonUnreachableError when quired cannot be reached. */
export async function adminCall(op: AdminRequest_Op, options: AdminOptions = {}): Promise<AdminResponse> {
  const places = resolvePlaces({ home: options.home });
  const timeoutMs = options.timeoutMs ?? 5_000;
  const framed = await FramedSocket.dial(places.socket, timeoutMs);
  try {
    framed.send(
      newFrame({
        kind: Frame_Kind.REQUEST,
        payloadProtocol: Lane.ADMIN,
        requestId: 1n,
        payload: Buffer.from(AdminRequest.encode({ op }).finish()),
      }),
    );
    const frame = await framed.read(timeoutMs, `admin ${AdminRequest_Op[op]}`);
    return AdminResponse.decode(frame.payload);
  } finally {
    framed.close();
  }
}
