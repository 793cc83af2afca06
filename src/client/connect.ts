// connect(): Hello to the broker, then the handoff (stay on the connection, usable from Negotiated on; the
// Connection waits for the ready event and falls back here if it does not come) or the reconnect (dial
// the backend with the token). A failed handoff, a backend restarting or a refusal with retry_after_ms
// are handled here, within the caller's deadline, and never surface as errors while time remains.
import { channel } from "node:diagnostics_channel";
import { debuglog } from "node:util";
import { resolvePlaces } from "../core/places.js";
import { Frame_Kind } from "../gen/quire/v1/frame.js";
import { Hello, HelloReply, Refused_Code, type Negotiated } from "../gen/quire/v1/hello.js";
import { newFrame } from "../wire/framing.js";
import { Lane } from "../wire/lanes.js";
import { CAP_HANDLE_PASSING, PROTOCOL_MAX, PROTOCOL_MIN } from "../wire/protocol.js";
import { QUIRE_VERSION } from "../version.js";
import { ON_DEMAND_ARGS, startDaemon } from "./autostart.js";
import { Connection, type ConnectionPath, type Link } from "./connection.js";
import { ClientError, ConnectionClosedError, DaemonUnreachableError, HandshakeError, RefusedError, TimeoutError } from "./errors.js";
import { FramedSocket } from "./framed.js";

/** Each step of a handshake, for diagnostics: `{ step, service, ... }`. */
export const handshakeChannel = channel("quire:client:handshake");
/**
 * One message per connection made, once its path is known for good (a handoff at the backend's ready
 * event): `{ service, path: "handoff" | "reconnect", durationMs }`.
 */
export const handoffChannel = channel("quire:client:handoff");

/** NODE_DEBUG=quire prints the path each connect takes. */
const debug = debuglog("quire");

export interface ConnectOptions {
  /** QUIRE_HOME to use (default: $QUIRE_HOME, else the XDG places). */
  home?: string;
  /** Ask to be handed off in place (default true); false always takes the reconnect path. */
  handoff?: boolean;
  /** Start quired when none answers (default: unless QUIRE_NO_AUTOSTART=1). */
  autostart?: boolean;
  /** Extra quired flags for an autostart. */
  daemonArgs?: string[];
  /** The whole connect, retries included (default 10 s). */
  timeoutMs?: number;
  /** How long to wait for the backend's ready event after Negotiated before reconnecting (default 2 s). */
  readyTimeoutMs?: number;
  clientName?: string;
  clientVersion?: string;
}

export async function connect(service: string, options: ConnectOptions = {}): Promise<Connection> {
  const started = performance.now();
  const settled = (path: ConnectionPath) => {
    if (path === "handoff") publish({ step: "handoff", service });
    const durationMs = performance.now() - started;
    debug("client: %s service reached by %s in %d ms", service, path, Math.round(durationMs));
    if (handoffChannel.hasSubscribers) handoffChannel.publish({ service, path, durationMs });
  };
  const link = await establish(service, options);
  if (link.path === "reconnect") {
    settled("reconnect");
    return new Connection(link, service);
  }
  const fallbackTimeoutMs = options.timeoutMs ?? 10_000;
  return new Connection(link, service, {
    readyTimeoutMs: options.readyTimeoutMs ?? 2_000,
    fallbackTimeoutMs,
    reconnect: (why) => {
      debug("client: handoff to the %s backend failed (%s); reconnecting to %s", service, why.message, link.negotiated.backendPipe);
      publish({ step: "handoff-failed", service, reason: why.message });
      return reconnect(service, link.negotiated, options, fallbackTimeoutMs);
    },
    startOver: (why) => {
      debug("client: reconnect to the %s backend failed (%s); starting over with the broker", service, why.message);
      publish({ step: "reconnect-failed", service, reason: why.message });
      return establish(service, { ...options, handoff: false });
    },
    settled,
  });
}

/**
 * A link to the service's backend: the Hello, retried within the deadline, then either the handed-off
 * connection (at Negotiated, before the backend's ready event) or the reconnect to the backend's socket.
 */
async function establish(service: string, options: ConnectOptions): Promise<Link> {
  const places = resolvePlaces({ home: options.home });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  const remaining = () => deadline - Date.now();
  let autostart = options.autostart ?? process.env.QUIRE_NO_AUTOSTART !== "1";
  let lastProblem: Error | undefined;
  debug(
    "client: connecting to the %s service through %s (handoff %s)",
    service,
    places.socket,
    options.handoff === false ? "off" : "asked",
  );

  while (remaining() > 0) {
    let framed: FramedSocket;
    let reply: HelloReply;
    try {
      framed = await FramedSocket.dial(places.socket, remaining());
      reply = await hello(framed, service, options, Buffer.alloc(0), remaining());
    } catch (error) {
      // A daemon that closed on us before answering is not serving either.
      const unreachable = error instanceof ConnectionClosedError ? new DaemonUnreachableError(places.socket, error) : error;
      if (!(unreachable instanceof DaemonUnreachableError)) throw error;
      if (unreachable.errno === "EAGAIN") {
        // Its listen backlog is full: it is there, and busy. Try again while time remains.
        lastProblem = unreachable;
        debug("client: %s is busy (EAGAIN); retrying", places.socket);
        await delay(Math.min(50, Math.max(0, remaining())));
        continue;
      }
      // Starting quired helps only where nobody serves (no socket, a stale one), not with a socket we
      // may not use.
      if (!autostart || !unreachable.nobodyListening) throw unreachable;
      autostart = false;
      debug("client: nothing answers on %s; starting quired", places.socket);
      publish({ step: "autostart", service, socket: places.socket });
      await startDaemon({ places, args: [...(options.daemonArgs ?? []), ...ON_DEMAND_ARGS], timeoutMs: remaining() });
      continue;
    }
    if (reply.refused) {
      framed.close();
      const retryAfter = Number(reply.refused.retryAfterMs);
      if (retryAfter > 0 && retryAfter < remaining()) {
        publish({
          step: "refused",
          service,
          code: Refused_Code[reply.refused.code],
          retryAfterMs: retryAfter,
          reason: reply.refused.reason,
        });
        lastProblem = new RefusedError(reply.refused);
        debug("client: refused (%s), retrying in %d ms: %s", Refused_Code[reply.refused.code], retryAfter, reply.refused.reason);
        await delay(retryAfter);
        continue;
      }
      throw new RefusedError(reply.refused);
    }
    const negotiated = reply.negotiated!;
    // Handed off: requests may go at once; the Connection waits for the ready event (the protocol allows it:
    // ARCHITECTURE.md, "The handoff path").
    if ((negotiated.serverCapabilities & CAP_HANDLE_PASSING) !== 0n) return { framed, path: "handoff", negotiated };
    framed.close();
    debug("client: reconnecting to %s", negotiated.backendPipe);
    try {
      return await reconnect(service, negotiated, options, remaining());
    } catch (error) {
      if (!(error instanceof ClientError)) throw error;
      // The backend went away or forgot the token (it restarted): start over with the broker.
      debug("client: reconnect to the %s backend failed (%s); starting over with the broker", service, (error as Error).message);
      publish({ step: "reconnect-failed", service, reason: (error as Error).message });
      lastProblem = error as Error;
      await delay(Math.min(50, Math.max(0, remaining())));
    }
  }
  if (lastProblem instanceof RefusedError) throw lastProblem;
  if (lastProblem instanceof DaemonUnreachableError && lastProblem.socket === places.socket) throw lastProblem;
  throw new TimeoutError(`connecting to the ${service} service${lastProblem ? ` (last problem: ${lastProblem.message})` : ""}`, timeoutMs);
}

async function reconnect(service: string, negotiated: Negotiated, options: ConnectOptions, timeoutMs: number): Promise<Link> {
  const framed = await FramedSocket.dial(negotiated.backendPipe, timeoutMs);
  const reply = await hello(framed, service, { ...options, handoff: false }, negotiated.handlePassedToken, timeoutMs);
  if (reply.refused) {
    framed.close();
    throw new RefusedError(reply.refused);
  }
  publish({ step: "reconnect", service });
  return { framed, path: "reconnect", negotiated: reply.negotiated! };
}

/**
 * Sends the Hello and reads the reply. A connection given up on (no reply in time, a bad one) is closed
 * here: left open, the other side could still answer and hand it to a backend, which would serve it for
 * as long as this process lives, keeping the process alive.
 */
async function hello(
  framed: FramedSocket,
  service: string,
  options: ConnectOptions,
  authToken: Buffer,
  timeoutMs: number,
): Promise<HelloReply> {
  const message = Hello.fromPartial({
    clientMinProtocol: PROTOCOL_MIN,
    clientMaxProtocol: PROTOCOL_MAX,
    serviceName: service,
    clientVersion: options.clientVersion ?? QUIRE_VERSION,
    clientCapabilities: options.handoff === false ? 0n : CAP_HANDLE_PASSING,
    authToken,
    peerPid: process.pid,
    clientLibName: options.clientName ?? "quire",
    clientLibVersion: QUIRE_VERSION,
  });
  try {
    framed.send(
      newFrame({
        kind: Frame_Kind.REQUEST,
        payloadProtocol: Lane.CONTROL,
        requestId: 1n,
        payload: Buffer.from(Hello.encode(message).finish()),
      }),
    );
    const frame = await framed.read(timeoutMs, "waiting for the Hello reply");
    if (frame.kind !== Frame_Kind.RESPONSE || frame.payloadProtocol !== Lane.CONTROL)
      throw new HandshakeError(`expected a HelloReply, got kind ${frame.kind} on lane ${frame.payloadProtocol}`);
    return decodeReply(frame.payload);
  } catch (error) {
    framed.close();
    throw error;
  }
}

function decodeReply(payload: Uint8Array): HelloReply {
  let reply: HelloReply;
  try {
    reply = HelloReply.decode(payload);
  } catch (error) {
    throw new HandshakeError(`the HelloReply is malformed: ${(error as Error).message}`);
  }
  if (!reply.negotiated && !reply.refused) throw new HandshakeError("the HelloReply is malformed: neither Negotiated nor Refused");
  return reply;
}

function publish(message: Record<string, unknown>): void {
  if (handshakeChannel.hasSubscribers) handshakeChannel.publish(message);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
