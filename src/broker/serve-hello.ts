// Serving a Hello: the checks (rate, drain, the shared Hello rules, tokens in flight), the backend made
// ready, a one-time token minted (sealed for the backend, which checks it by itself), Negotiated, then the
// handoff offer or, for a reconnect, nothing more (ARCHITECTURE.md, "A Hello, from the socket to the backend").
import type { Socket } from "node:net";
import { handoffMark, marking } from "../core/handoff-marks.js";
import { checkHello, negotiatedFor, refused, sendNegotiatedAndClose, sendRefused, writeNegotiated } from "../core/hello-checks.js";
import type { Logger } from "../core/log.js";
import { HandoffOffer } from "../gen/quire/v1/handoff.js";
import { Refused_Code, type Hello, type Refused } from "../gen/quire/v1/hello.js";
import type { FrameDecoder } from "../wire/framing.js";
import { CAP_HANDLE_PASSING } from "../wire/protocol.js";
import { QUIRE_VERSION } from "../version.js";
import { BackendUnavailableError } from "./errors.js";
import type { Metrics } from "./metrics.js";
import { PendingTokens } from "./pending-tokens.js";
import { HelloRateLimiter } from "./rate-limit.js";
import type { BackendProcess } from "./supervisor.js";

export const SHUTTING_DOWN_REASON = "quired is shutting down; start it again (quirectl daemon start) and retry";

export interface HandshakeSettings {
  services: readonly string[];
  /** Pass sockets to backends where the client can stay on its connection. */
  handoff: boolean;
  handoffAckTimeoutMs: number;
  tokenTtlMs: number;
  maxPendingTokens: number;
  maxPendingTokensPerPeer: number;
  helloRatePerSecond: number;
  helloBurst: number;
}

export interface HandshakeContext {
  settings: HandshakeSettings;
  metrics: Metrics;
  logger: Logger;
  /** The supervised process of a service's backend (created, not started, on first ask). */
  backend(service: string): BackendProcess;
  draining(): boolean;
}

export class HandshakeServer {
  readonly #ctx: HandshakeContext;
  readonly #rateLimiter: HelloRateLimiter;
  /** Tokens minted and not yet known to be used. */
  readonly #pendingTokens = new PendingTokens();
  #nextId = 1;
  readonly #newId = () => this.#nextId++;

  constructor(ctx: HandshakeContext) {
    this.#ctx = ctx;
    this.#rateLimiter = new HelloRateLimiter(ctx.settings.helloRatePerSecond, ctx.settings.helloBurst);
  }

  /** Tokens minted and not yet used or expired. */
  get pendingTokens(): number {
    return this.#pendingTokens.size();
  }

  /** A backend reports the token registered as `id` used: it no longer counts as in flight. */
  tokenUsed(id: number): void {
    this.#pendingTokens.delete(id);
  }

  /** Answers a Hello on a socket the caller has stopped reading; `decoder` holds whatever followed it. */
  serve(socket: Socket, decoder: FrameDecoder, requestId: bigint, hello: Hello): void {
    this.#serve(socket, decoder, requestId, hello).catch((error) => {
      this.#ctx.logger.log("error", "handshake failed", {
        service: hello.serviceName,
        connectionId: String(hello.connectionId),
        peerPid: hello.peerPid,
        error: String(error),
      });
      sendRefused(
        socket,
        requestId,
        refused(Refused_Code.INTERNAL, `quired failed to handle the Hello: ${(error as Error).message}; see quired.log`),
      );
    });
  }

  async #serve(socket: Socket, decoder: FrameDecoder, requestId: bigint, hello: Hello): Promise<void> {
    const helloAt = marking ? process.hrtime.bigint() : 0n;
    const { settings, metrics, logger } = this.#ctx;
    metrics.inc("quire_hellos_total");
    const refuse = (r: Refused) => {
      metrics.inc("quire_refused_total", { code: Refused_Code[r.code] ?? String(r.code) });
      sendRefused(socket, requestId, r);
    };
    const peer = hello.peerPid ? `pid:${hello.peerPid}` : "anonymous";
    const wait = this.#rateLimiter.take(peer);
    if (wait > 0) return refuse(refused(Refused_Code.RATE_LIMITED, "too many Hellos from this peer; wait and retry", {}, wait));
    if (this.#ctx.draining()) return refuse(refused(Refused_Code.SHUTTING_DOWN, SHUTTING_DOWN_REASON));
    const invalid = checkHello(hello, { services: settings.services, daemonVersion: QUIRE_VERSION });
    if (invalid) return refuse(invalid);
    if (this.#pendingTokens.countFor(peer) >= settings.maxPendingTokensPerPeer) {
      const who = hello.peerPid ? `peer pid ${hello.peerPid}` : "peers that send no peer_pid";
      return refuse(
        refused(
          Refused_Code.RATE_LIMITED,
          `${settings.maxPendingTokensPerPeer} handshakes are already in flight for ${who}; use the tokens already given (or let them expire) and retry`,
          {},
          100,
        ),
      );
    }
    if (this.#pendingTokens.size() >= settings.maxPendingTokens) {
      return refuse(
        refused(Refused_Code.RATE_LIMITED, `${settings.maxPendingTokens} handshakes are already in flight; retry shortly`, {}, 100),
      );
    }
    const backend = this.#ctx.backend(hello.serviceName);
    // A ready backend is the common case: no await then, so nothing runs between stopping the reads and the offer.
    if (backend.state !== "ready") {
      try {
        await backend.ensure();
      } catch (error) {
        const retry = error instanceof BackendUnavailableError ? error.retryAfterMs : 1_000;
        return refuse(refused(Refused_Code.BACKEND_SPAWN_FAILED, (error as Error).message, { service: hello.serviceName }, retry));
      }
      if (socket.destroyed) return;
    }

    const { token, id, expiresAt } = backend.takeToken(settings.tokenTtlMs, this.#newId);
    this.#pendingTokens.add(id, peer, expiresAt);
    const handoff = settings.handoff && (hello.clientCapabilities & CAP_HANDLE_PASSING) !== 0n;
    const negotiated = negotiatedFor(hello, QUIRE_VERSION, {
      backendPipe: backend.socketPath,
      serverCapabilities: handoff ? CAP_HANDLE_PASSING : 0n,
      handlePassedToken: token,
      connectionId: hello.connectionId || BigInt(id),
    });

    if (!handoff) {
      metrics.inc("quire_negotiated_total", { path: "reconnect" });
      // We stopped reading at the Hello, so the client's EOF is never seen: close once our bytes are out.
      return sendNegotiatedAndClose(socket, requestId, negotiated);
    }

    metrics.inc("quire_negotiated_total", { path: "handoff" });
    if (marking) handoffMark(id, "hello", helloAt);
    // Negotiated must be on the stream before the backend can write its ready event. When the write went
    // to the kernel at once (the usual case: a fresh connection's buffer is empty), it is, and the offer
    // goes now; otherwise it waits for the write to complete.
    let written!: (ok: boolean) => void;
    const out = new Promise<boolean>((resolve) => (written = resolve));
    if (!writeNegotiated(socket, requestId, negotiated, written) && !(await out)) return;
    const pending = takeBuffered(socket, decoder);
    const offer = HandoffOffer.encode({ handleValue: 0n, token, serviceName: hello.serviceName, correlationId: BigInt(id) }).finish();
    if (marking) handoffMark(id, "negotiated-written");
    try {
      const ack = await backend.offer(socket, offer, BigInt(id), pending, Date.now() + settings.handoffAckTimeoutMs);
      metrics.inc("quire_handoffs_total", { outcome: ack.accepted ? "accepted" : "refused" });
      if (ack.accepted) this.#pendingTokens.delete(id);
      else
        logger.log("warn", "backend refused a handoff; the client will reconnect", {
          service: hello.serviceName,
          connectionId: String(negotiated.connectionId),
          detail: ack.errorDetail,
        });
    } catch (error) {
      // The client sees its connection close before the ready event and reconnects with the same token
      // (BackendProcess.offer has closed our copy of the socket, even one already written to the channel).
      metrics.inc("quire_handoffs_total", { outcome: "failed" });
      logger.log("warn", "handoff failed; the client will reconnect", {
        service: hello.serviceName,
        connectionId: String(negotiated.connectionId),
        error: String(error),
      });
      socket.destroy();
    }
  }
}

/**
 * `socket.pause()` alone does not stop the handle from reading, and bytes read after the handle is sent
 * to another process are lost. Stop at the handle itself.
 */
export function stopReading(socket: Socket): void {
  socket.pause();
  (socket as unknown as { _handle?: { readStop?(): number } })._handle?.readStop?.();
}

/** Everything this side read past the Hello, in order, so the backend sees the stream whole. */
function takeBuffered(socket: Socket, decoder: FrameDecoder): Buffer {
  const parts = [decoder.takeRemainder()];
  for (let chunk: Buffer | null = socket.read(); chunk !== null; chunk = socket.read()) parts.push(chunk);
  return Buffer.concat(parts);
}
