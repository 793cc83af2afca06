// The handshake as both sides that answer Hellos speak it: the broker (first Hellos) and a backend
// (reconnect Hellos). One acceptance path (protocol range, service name, wanted_version) and one writer
// of HelloReply frames (ARCHITECTURE.md, "A Hello, from the socket to the backend").
import type { Socket } from "node:net";
import { Frame_Kind, type Frame } from "../gen/quire/v1/frame.js";
import { Hello, HelloReply, Refused_Code, type Negotiated, type Refused } from "../gen/quire/v1/hello.js";
import { encodeFramed, newFrame } from "../wire/framing.js";
import { Lane } from "../wire/lanes.js";
import { PROTOCOL_MAX, PROTOCOL_MIN } from "../wire/protocol.js";
import { encodeNegotiatedReply } from "./negotiated-bytes.js";
import { compareVersions, parseVersion } from "./semver.js";

const SERVICE_NAME = /^[a-z0-9-]{1,64}$/;

/** What a Hello is checked against. */
export interface HelloRules {
  /** The services this side serves: all the broker knows, or a backend's one. */
  services: readonly string[];
  /** Our version, for wanted_version and for messages. */
  daemonVersion: string;
  /** Who answers, in messages ("quired", "the pty backend"). */
  speaker?: string;
  /** The code for a well-formed service name not in `services` (default SERVICE_UNKNOWN). */
  unlistedServiceCode?: Refused_Code;
  /** The reason for a well-formed service name not in `services`. */
  unlistedServiceReason?: (service: string) => string;
}

/** A Refused carrying this build's protocol range; retryAfterMs 0 means "retrying will not help". */
export function refused(code: Refused_Code, reason: string, details: Record<string, string> = {}, retryAfterMs = 0): Refused {
  return {
    reason,
    code,
    details,
    retryAfterMs: BigInt(Math.max(0, Math.ceil(retryAfterMs))),
    daemonMinProtocol: PROTOCOL_MIN,
    daemonMaxProtocol: PROTOCOL_MAX,
  };
}

/** The Hello in a first frame's payload, or the Refused that answers a malformed one. */
export function decodeHello(frame: Frame): { hello: Hello; refused?: undefined } | { hello?: undefined; refused: Refused } {
  try {
    return { hello: Hello.decode(frame.payload) };
  } catch (error) {
    return { refused: refused(Refused_Code.UNSPECIFIED, `Hello payload is malformed: ${(error as Error).message}`) };
  }
}

/** A Refused for a Hello this side will not serve, or undefined when it is acceptable. */
export function checkHello(hello: Hello, rules: HelloRules): Refused | undefined {
  const { services, daemonVersion } = rules;
  const speaker = rules.speaker ?? `quired ${daemonVersion}`;
  if (
    hello.clientMaxProtocol < PROTOCOL_MIN ||
    hello.clientMinProtocol > PROTOCOL_MAX ||
    hello.clientMinProtocol > hello.clientMaxProtocol
  ) {
    return refused(
      Refused_Code.VERSION_UNSUPPORTED,
      `client speaks protocol ${hello.clientMinProtocol}..${hello.clientMaxProtocol}, ${speaker} speaks ${PROTOCOL_MIN}..${PROTOCOL_MAX}; upgrade whichever is older`,
    );
  }
  if (!SERVICE_NAME.test(hello.serviceName)) {
    return refused(
      Refused_Code.SERVICE_UNKNOWN,
      `service name ${JSON.stringify(hello.serviceName)} is not valid: use 1-64 of a-z, 0-9 and -`,
    );
  }
  if (hello.wantedVersion !== "") {
    const wanted = parseVersion(hello.wantedVersion);
    if (!wanted) {
      return refused(
        Refused_Code.VERSION_UNSUPPORTED,
        `wanted_version ${JSON.stringify(hello.wantedVersion)} is not a semantic version (like 1.2.3)`,
      );
    }
    if (compareVersions(parseVersion(daemonVersion)!, wanted) < 0) {
      return refused(
        Refused_Code.VERSION_UNSUPPORTED,
        `client wants quired ${hello.wantedVersion} or later; this is ${daemonVersion}: upgrade quire and restart the daemon (quirectl daemon restart)`,
        { wanted: hello.wantedVersion, daemon: daemonVersion },
      );
    }
  }
  if (!services.includes(hello.serviceName)) {
    const reason =
      rules.unlistedServiceReason?.(hello.serviceName) ??
      `no service named "${hello.serviceName}"; this daemon serves: ${services.join(", ")}`;
    return refused(rules.unlistedServiceCode ?? Refused_Code.SERVICE_UNKNOWN, reason);
  }
  return undefined;
}

/** A Negotiated answering `hello`: the protocol picked from its range, our version, and what differs. */
export function negotiatedFor(
  hello: Hello,
  daemonVersion: string,
  fields: Pick<Negotiated, "backendPipe" | "serverCapabilities" | "handlePassedToken" | "connectionId">,
): Negotiated {
  return {
    negotiatedProtocol: Math.min(PROTOCOL_MAX, hello.clientMaxProtocol),
    daemonVersion,
    warnings: [],
    keepaliveIntervalSecs: 0,
    ...fields,
  };
}

function helloReplyBytes(reply: HelloReply, requestId: bigint): Buffer {
  const payload = reply.negotiated && !reply.refused ? encodeNegotiatedReply(reply.negotiated) : HelloReply.encode(reply).finish();
  return encodeFramed(newFrame({ kind: Frame_Kind.RESPONSE, payloadProtocol: Lane.CONTROL, requestId, payload: asBuffer(payload) }));
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Sends Refused and closes the connection once it is flushed. */
export function sendRefused(socket: Socket, requestId: bigint, refused: Refused): void {
  if (socket.destroyed) return;
  socket.end(helloReplyBytes({ refused }, requestId));
  socket.destroySoon();
}

/** Sends Negotiated and closes our side once it is flushed: the reconnect path, where the client dials the backend next. */
export function sendNegotiatedAndClose(socket: Socket, requestId: bigint, negotiated: Negotiated): void {
  if (socket.destroyed) return;
  socket.end(helloReplyBytes({ negotiated }, requestId));
  socket.destroySoon();
}

/**
 * Writes Negotiated. True when the bytes are with the kernel already (nothing queued in the socket), so
 * whatever any process writes to the same connection afterwards comes after them on the stream; false when
 * they are queued, and `written` says when they are out (true) or the socket failed (false).
 */
export function writeNegotiated(socket: Socket, requestId: bigint, negotiated: Negotiated, written: (ok: boolean) => void): boolean {
  if (socket.destroyed) {
    written(false);
    return false;
  }
  socket.write(helloReplyBytes({ negotiated }, requestId), (error) => written(!error && !socket.destroyed));
  return socket.writableLength === 0 && !socket.errored && !socket.destroyed;
}

/** Sends Negotiated; resolves once the bytes are with the kernel, false if the socket failed first. */
export function sendNegotiated(socket: Socket, requestId: bigint, negotiated: Negotiated): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve(false);
    socket.write(helloReplyBytes({ negotiated }, requestId), (error) => resolve(!error && !socket.destroyed));
  });
}
