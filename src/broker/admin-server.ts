// The admin connection: a connection whose first frame is an admin request is served by the broker
// itself, in order and with backpressure; what STATUS, READYZ and METRICS report is gathered here.
import type { Socket } from "node:net";
import { refused, sendRefused } from "../daemon/handshake.js";
import type { Places } from "../daemon/places.js";
import { AdminResponse, DaemonStatus } from "../gen/quire/v1/admin.js";
import { Frame_Kind, type Frame } from "../gen/quire/v1/frame.js";
import { Refused_Code } from "../gen/quire/v1/hello.js";
import { WireError } from "../wire/errors.js";
import { encodeFramed, newFrame, type FrameDecoder } from "../wire/framing.js";
import { Lane } from "../wire/lanes.js";
import { PROTOCOL_MAX, PROTOCOL_MIN } from "../wire/protocol.js";
import { QUIRE_VERSION } from "../version.js";
import { handleAdmin, type AdminContext } from "./admin.js";
import type { Metrics } from "./metrics.js";
import type { BackendProcess } from "./supervisor.js";

/** Undecoded input one admin connection may hold: requests are a few bytes each. */
const ADMIN_MAX_BUFFERED_BYTES = 1024 * 1024;

/** What the admin lane reads of the broker. */
export interface BrokerView {
  places: Places;
  services: readonly string[];
  startedAt: number;
  metrics: Metrics;
  backends(): Iterable<BackendProcess>;
  backend(service: string): BackendProcess | undefined;
  pendingTokens(): number;
  draining(): boolean;
  /** Starts the drain. */
  stop(): void;
}

export class AdminServer {
  readonly #broker: BrokerView;
  readonly #sockets = new Set<Socket>();
  readonly #context: AdminContext;

  constructor(broker: BrokerView) {
    this.#broker = broker;
    this.#context = {
      status: () => this.status(),
      ready: () => this.#ready(),
      metrics: () => this.#renderMetrics(),
      shutdown: () => broker.stop(),
    };
  }

  /** Ends every admin connection (the broker has drained). */
  closeAll(): void {
    for (const socket of this.#sockets) socket.end();
  }

  /**
   * Answers admin requests in order. A client that sends faster than it reads is not read from while
   * its answers are backed up (write() returned false): what one admin connection holds is bounded by the
   * socket's buffers, never by how many requests it pipelines.
   */
  serve(socket: Socket, decoder: FrameDecoder, first: Frame): void {
    this.#sockets.add(socket);
    socket.once("close", () => this.#sockets.delete(socket));
    let blocked = false;
    let failed = false;
    /** False once the socket's write buffer is full: stop until "drain". */
    const answer = (frame: Frame): boolean => {
      if (frame.kind !== Frame_Kind.REQUEST || frame.payloadProtocol !== Lane.ADMIN) return true;
      const { response, op, after } = handleAdmin(frame.payload, this.#context);
      this.#broker.metrics.inc("quire_admin_requests_total", { op });
      return socket.write(encodeFramed(newFrame({ kind: Frame_Kind.RESPONSE, payloadProtocol: Lane.ADMIN, requestId: frame.requestId, payload: Buffer.from(AdminResponse.encode(response).finish()) })), () => after?.());
    };
    const pump = () => {
      while (!blocked && !failed) {
        const item = decoder.next();
        if (item === undefined) break;
        if (item instanceof WireError) {
          failed = true;
          return sendRefused(socket, 0n, refused(Refused_Code.UNSPECIFIED, item.message, { error: item.code }));
        }
        blocked = !answer(item);
      }
      // Admin requests are a few bytes: a partial frame this large is not one.
      if (!failed && decoder.buffered > ADMIN_MAX_BUFFERED_BYTES) {
        failed = true;
        sendRefused(socket, 0n, refused(Refused_Code.UNSPECIFIED, `an admin request of over ${ADMIN_MAX_BUFFERED_BYTES} bytes; admin requests are a few bytes each`, { error: "QUIRE_ERR_FRAME_TOO_LARGE" }));
      }
      if (blocked || failed) socket.pause();
    };
    socket.on("drain", () => {
      if (failed) return;
      blocked = false;
      pump();
      if (!blocked && !failed) socket.resume();
    });
    blocked = !answer(first);
    pump();
    socket.on("data", (chunk: Buffer) => {
      decoder.push(chunk);
      pump();
    });
    socket.on("end", () => socket.end());
  }

  status(): DaemonStatus {
    const broker = this.#broker;
    const now = Date.now();
    return DaemonStatus.fromPartial({
      daemonVersion: QUIRE_VERSION,
      pid: process.pid,
      startedUnixMs: BigInt(broker.startedAt),
      uptimeMs: BigInt(now - broker.startedAt),
      socket: broker.places.socket,
      home: broker.places.home ?? "",
      minProtocol: PROTOCOL_MIN,
      maxProtocol: PROTOCOL_MAX,
      draining: broker.draining(),
      backends: broker.services.map((service) => {
        const b = broker.backend(service);
        return {
          service,
          pid: b?.pid ?? 0,
          state: b?.state ?? "stopped",
          clients: b?.clients ?? 0,
          restarts: b?.restarts ?? 0,
          socket: broker.places.backendSocket(service),
          startedUnixMs: BigInt(b?.startedAt ?? 0),
          lastError: b?.lastError ?? "",
        };
      }),
    });
  }

  #ready(): { ok: boolean; detail: string } {
    if (this.#broker.draining()) return { ok: false, detail: "draining" };
    const failed = [...this.#broker.backends()].filter((b) => b.state === "failed" || b.state === "backoff");
    if (failed.length) return { ok: false, detail: `backends down: ${failed.map((b) => `${b.service} (${b.lastError})`).join(", ")}` };
    return { ok: true, detail: "accepting clients" };
  }

  #renderMetrics(): string {
    const backends = [...this.#broker.backends()];
    return this.#broker.metrics.render({
      quire_pending_tokens: { help: "Tokens minted and not yet used or expired", values: [[{}, this.#broker.pendingTokens()]] },
      quire_backend_up: { help: "1 when the service's backend is ready", values: backends.map((b) => [{ service: b.service }, b.state === "ready" ? 1 : 0]) },
      quire_backend_restarts: { help: "Respawns after a crash", values: backends.map((b) => [{ service: b.service }, b.restarts]) },
      quire_backend_clients: { help: "Clients a backend is serving", values: backends.map((b) => [{ service: b.service }, b.clients]) },
      quire_handoffs_in_flight: { help: "Sockets offered to a backend and not yet ACKed", values: backends.map((b) => [{ service: b.service }, b.offersInFlight]) },
    });
  }
}
