// Handshake replies on a client socket: the broker's answers to Hellos, and a backend's to reconnects.
import type { Socket } from "node:net";
import { Frame_Kind } from "../gen/quire/v1/frame.js";
import { HelloReply, type Negotiated, type Refused, type Refused_Code } from "../gen/quire/v1/hello.js";
import { encodeFramed, newFrame } from "../wire/codec.js";
import { Lane } from "../wire/lanes.js";
import { PROTOCOL_MAX, PROTOCOL_MIN } from "../wire/protocol.js";

/** A Refused carrying this build's protocol range; retryAfterMs 0 means "retrying will not help". */
export function refused(code: Refused_Code, reason: string, details: Record<string, string> = {}, retryAfterMs = 0): Refused {
  return { reason, code, details, retryAfterMs: BigInt(Math.max(0, Math.ceil(retryAfterMs))), daemonMinProtocol: PROTOCOL_MIN, daemonMaxProtocol: PROTOCOL_MAX };
}

function helloReplyBytes(reply: HelloReply, requestId: bigint): Buffer {
  return encodeFramed(
    newFrame({ kind: Frame_Kind.RESPONSE, payloadProtocol: Lane.CONTROL, requestId, payload: Buffer.from(HelloReply.encode(reply).finish()) }),
  );
}

/** Sends Refused and closes the connection once it is flushed. */
export function sendRefused(socket: Socket, requestId: bigint, refused: Refused): void {
  if (socket.destroyed) return;
  socket.end(helloReplyBytes({ refused }, requestId));
  socket.destroySoon();
}

/** Sends Negotiated; resolves once the bytes are with the kernel, false if the socket failed first. */
export function sendNegotiated(socket: Socket, requestId: bigint, negotiated: Negotiated): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(false);
    socket.write(helloReplyBytes({ negotiated }, requestId), (error) => resolve(!error && !socket.destroyed));
  });
}
