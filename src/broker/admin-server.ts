// The admin connection: a connection whose first frame is an admin request is served by the broker
// itself, in order and with backpressure; what STATUS, READYZ and METRICS report is gathered here.
import { statSync } from "node:fs";
import type { Socket } from "node:net";
import { basename } from "node:path";
import { refused, sendRefused } from "../core/hello-checks.js";
import { renderFamilies, withLabels, type MetricFamily } from "../core/metrics.js";
import type { Places } from "../core/places.js";
import type { ErrorCode } from "../errors.js";
import { AdminResponse, DaemonStatus } from "../gen/quire/v1/admin.js";
import { Frame_Kind, type Frame } from "../gen/quire/v1/frame.js";
import { Refused_Code } from "../gen/quire/v1/hello.js";
import { WireError } from "../wire/errors.js";
import { encodeFramed, newFrame, type FrameDecoder } from "../wire/framing.js";
import { Lane } from "../wire/lanes.js";
import { PROTOCOL_MAX, PROTOCOL_MIN } from "../wire/protocol.js";
import { QUIRE_VERSION } from "../version.js";
import { handleAdmin, type AdminContext } from "./admin-ops.js";
import type { Metrics } from "./metrics.js";
import type { BackendProcess } from "./supervisor.js";

/** Undecoded input one admin connection may hold: requests are a few bytes each. */
const ADMIN_MAX_BUFFERED_BYTES = 1024 * 1024;
/** How long METRICS waits for a backend's families before leaving them out. */
const BACKEND_METRICS_TIMEOUT_MS = 1_000;

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

  /** Admin connections open now. */
  get connections(): number {
    return this.#sockets.size;
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
    /** An answer being gathered (METRICS asks the backends): nothing more is answered until it is written. */
    let awaiting = false;
    const write = (frame: Frame, response: AdminResponse, after?: () => void): boolean =>
      socket.write(
        encodeFramed(
          newFrame({
            kind: Frame_Kind.RESPONSE,
            payloadProtocol: Lane.ADMIN,
            requestId: frame.requestId,
            payload: Buffer.from(AdminResponse.encode(response).finish()),
          }),
        ),
        () => after?.(),
      );
    /** False once the socket's write buffer is full (wait for "drain") or an answer is being gathered. */
    const answer = (frame: Frame): boolean => {
      if (frame.kind !== Frame_Kind.REQUEST || frame.payloadProtocol !== Lane.ADMIN) return true;
      const { response, op, after } = handleAdmin(frame.payload, this.#context);
      this.#broker.metrics.inc("quire_admin_requests_total", { op });
      if (!(response instanceof Promise)) return write(frame, response, after);
      awaiting = true;
      void response
        .catch((error: Error) => AdminResponse.fromPartial({ ok: false, detail: `${op} failed: ${error.message}` }))
        .then((r) => {
          awaiting = false;
          if (socket.destroyed) return;
          if (!write(frame, r, after)) return; // "drain" resumes
          blocked = false;
          pump();
          if (!blocked && !failed) socket.resume();
        });
      return false;
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
        sendRefused(
          socket,
          0n,
          refused(
            Refused_Code.UNSPECIFIED,
            `an admin request of over ${ADMIN_MAX_BUFFERED_BYTES} bytes; admin requests are a few bytes each`,
            { error: "QUIRE_ERR_FRAME_TOO_LARGE" satisfies ErrorCode },
          ),
        );
      }
      if (blocked || failed) socket.pause();
    };
    socket.on("drain", () => {
      if (failed || awaiting) return;
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

  /** The broker's own metrics and each ready backend's, asked for with a deadline (a slow backend is left out, and says so). */
  async #renderMetrics(): Promise<string> {
    const broker = this.#broker;
    const backends = [...broker.backends()];
    const reported = await Promise.all(
      backends.map(async (b) => {
        if (b.state !== "ready") return { b, families: [] as MetricFamily[], ok: false };
        try {
          return { b, families: await b.collectMetrics(BACKEND_METRICS_TIMEOUT_MS), ok: true };
        } catch {
          return { b, families: [] as MetricFamily[], ok: false };
        }
      }),
    );
    const gauge = (name: string, help: string, samples: [Record<string, string>, number][]): MetricFamily => ({
      name,
      help,
      type: "gauge",
      samples: samples.map(([labels, value]) => ({ labels, value })),
    });
    const perBackend = (f: (b: BackendProcess) => number) =>
      backends.map((b): [Record<string, string>, number] => [{ service: b.service }, f(b)]);
    return renderFamilies([
      ...broker.metrics.families(),
      gauge("quire_pending_tokens", "Tokens minted and not yet used or expired", [[{}, broker.pendingTokens()]]),
      gauge(
        "quire_backend_up",
        "1 when the service's backend is ready",
        perBackend((b) => (b.state === "ready" ? 1 : 0)),
      ),
      {
        name: "quire_backend_restarts_total",
        help: "Respawns of a service's backend after a crash",
        type: "counter",
        samples: perBackend((b) => b.restarts).map(([labels, value]) => ({ labels, value })),
      },
      gauge(
        "quire_backend_restarts",
        "Respawns after a crash (the same as quire_backend_restarts_total; kept for existing dashboards)",
        perBackend((b) => b.restarts),
      ),
      gauge(
        "quire_backend_clients",
        "Clients a backend is serving",
        perBackend((b) => b.clients),
      ),
      gauge(
        "quire_handoffs_in_flight",
        "Sockets offered to a backend and not yet ACKed",
        perBackend((b) => b.offersInFlight),
      ),
      gauge(
        "quire_backend_metrics_up",
        "1 when the backend answered the metrics request in time",
        reported.map((r) => [{ service: r.b.service }, r.ok ? 1 : 0]),
      ),
      gauge(
        "quire_store_bytes",
        "Size of the run store's files",
        storeFiles(broker.places).map(([file, bytes]) => [{ file }, bytes]),
      ),
      ...reported.flatMap((r) => r.families.map((f) => withLabels(f, { service: r.b.service }))),
    ]);
  }
}

/** quire.db and its write-ahead log, with their sizes (0 for one that does not exist). */
function storeFiles(places: Places): [string, number][] {
  return ["", "-wal"].map((suffix) => {
    const path = places.database + suffix;
    let size = 0;
    try {
      size = statSync(path).size;
    } catch {}
    return [basename(path), size];
  });
}
