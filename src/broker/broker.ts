// quired: accepts connections, checks each Hello, and hands the client to its service's backend
// (or tells it where to reconnect). After the handoff the broker is out of the data path.
import { closeSync, mkdirSync, openSync } from "node:fs";
import type { Server, Socket } from "node:net";
import type { Logger } from "../daemon/log.js";
import { jsonLogger } from "../daemon/log.js";
import { SERVICE_NAMES } from "../daemon/services.js";
import { mintToken } from "../daemon/tokens.js";
import { AdminResponse, DaemonStatus } from "../gen/quire/v1/admin.js";
import { Frame, Frame_Kind } from "../gen/quire/v1/frame.js";
import { HandoffOffer } from "../gen/quire/v1/handoff.js";
import { Hello, Refused_Code, type Refused } from "../gen/quire/v1/hello.js";
import { encodeFramed, FrameDecoder, newFrame } from "../wire/framing.js";
import { WireError } from "../wire/errors.js";
import { Lane } from "../wire/lanes.js";
import { CAP_HANDLE_PASSING, PROTOCOL_MAX, PROTOCOL_MIN } from "../wire/protocol.js";
import { QUIRE_VERSION } from "../version.js";
import { handleAdmin, type AdminContext } from "./admin.js";
import { BackendUnavailableError, RootRefusedError } from "./errors.js";
import { listenExclusive, secureDirectory } from "./listener.js";
import { Metrics } from "./metrics.js";
import type { Places } from "../daemon/places.js";
import { PendingTokens } from "./pending-tokens.js";
import { HelloRateLimiter } from "./rate-limit.js";
import { checkHello, decodeHello, negotiatedFor, refused, sendNegotiated, sendRefused } from "../daemon/handshake.js";
import { BackendProcess, type RespawnPolicy } from "./supervisor.js";

export interface BrokerOptions {
  places: Places;
  allowRoot?: boolean;
  /** Services this daemon serves (default: all built in). */
  services?: readonly string[];
  /** A connection must send its first frame within this time. */
  helloTimeoutMs?: number;
  /** A backend must ACK an offer within this time, else the client reconnects. */
  handoffAckTimeoutMs?: number;
  tokenTtlMs?: number;
  /** Tokens minted and not yet used or expired, at most. */
  maxPendingTokens?: number;
  /** ... and at most this many for one peer (by the Hello's peer_pid; anonymous peers share one count). */
  maxPendingTokensPerPeer?: number;
  helloRatePerSecond?: number;
  helloBurst?: number;
  respawn?: Partial<RespawnPolicy>;
  drainGraceMs?: number;
  backendStartTimeoutMs?: number;
  /** Ping each ready backend on its control channel this long after its last answer (0: never). */
  livenessIntervalMs?: number;
  /** A backend that leaves a ping unanswered this long (stopped, or spinning) is killed and respawned. */
  livenessTimeoutMs?: number;
  /** Pass sockets to backends where the platform can (default true except on Windows). */
  handoff?: boolean;
}

/** Undecoded input one admin connection may hold: requests are a few bytes each. */
const ADMIN_MAX_BUFFERED_BYTES = 1024 * 1024;

const SHUTTING_DOWN_REASON = "quired is shutting down; start it again (quirectl daemon start) and retry";

type Settings = Required<Omit<BrokerOptions, "places" | "respawn">> & { respawn: RespawnPolicy };

function settings(options: BrokerOptions): Settings {
  return {
    allowRoot: false,
    services: SERVICE_NAMES,
    helloTimeoutMs: 3_000,
    handoffAckTimeoutMs: 2_000,
    tokenTtlMs: 30_000,
    maxPendingTokens: 1_024,
    maxPendingTokensPerPeer: 256,
    helloRatePerSecond: 1_000,
    helloBurst: 2_000,
    drainGraceMs: 10_000,
    backendStartTimeoutMs: 10_000,
    livenessIntervalMs: 2_000,
    livenessTimeoutMs: 10_000,
    handoff: process.platform !== "win32",
    ...stripUndefined(options),
    respawn: { budget: 3, windowMs: 30_000, delayMs: 250, ...stripUndefined(options.respawn ?? {}) },
  } as Settings;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class Broker {
  readonly places: Places;
  readonly #settings: Settings;
  readonly #logger: Logger;
  readonly #logFd: number;
  readonly #metrics = new Metrics();
  readonly #rateLimiter: HelloRateLimiter;
  readonly #backends = new Map<string, BackendProcess>();
  /** Tokens minted and not yet known to be used. */
  readonly #pendingTokens = new PendingTokens();
  readonly #adminSockets = new Set<Socket>();
  /** Connections that have not sent their first frame yet, with their deadline timers. */
  readonly #greeting = new Map<Socket, NodeJS.Timeout>();
  readonly #startedAt = Date.now();
  #server: Server | undefined;
  #nextId = 1;
  #draining: Promise<void> | undefined;
  #resolveClosed!: () => void;
  /** Resolves when the broker has drained and stopped. */
  readonly closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));

  private constructor(options: BrokerOptions, logFd: number) {
    this.places = options.places;
    this.#settings = settings(options);
    this.#logFd = logFd;
    this.#logger = jsonLogger(logFd, "broker");
    this.#rateLimiter = new HelloRateLimiter(this.#settings.helloRatePerSecond, this.#settings.helloBurst);
  }

  static async start(options: BrokerOptions): Promise<Broker> {
    if (process.getuid?.() === 0 && !options.allowRoot) throw new RootRefusedError();
    const { places } = options;
    secureDirectory(places.socketDir);
    if (places.dataDir !== places.socketDir) mkdirSync(places.dataDir, { recursive: true, mode: 0o700 });
    mkdirSync(places.logDir, { recursive: true, mode: 0o700 });
    const logFd = openSync(places.logFile, "a", 0o600);
    const broker = new Broker(options, logFd);
    try {
      broker.#server = await listenExclusive(places.socket, (socket) => broker.#onConnection(socket));
    } catch (error) {
      closeSync(logFd);
      throw error;
    }
    broker.#logger.log("info", "quired listening", { socket: places.socket, version: QUIRE_VERSION, pid: process.pid });
    return broker;
  }

  /** Drain: stop accepting, let backends finish, then stop. Safe to call more than once. */
  stop(): Promise<void> {
    this.#draining ??= this.#drain();
    return this.#draining;
  }

  async #drain(): Promise<void> {
    this.#logger.log("info", "draining");
    this.#server?.close();
    for (const [socket, timer] of this.#greeting) {
      clearTimeout(timer);
      sendRefused(socket, 0n, refused(Refused_Code.SHUTTING_DOWN, SHUTTING_DOWN_REASON));
    }
    this.#greeting.clear();
    await Promise.all([...this.#backends.values()].map((b) => b.drain(this.#settings.drainGraceMs)));
    for (const socket of this.#adminSockets) socket.end();
    this.#logger.log("info", "quired stopped");
    closeSync(this.#logFd);
    this.#resolveClosed();
  }

  #onConnection(socket: Socket): void {
    this.#metrics.inc("quire_connections_total");
    socket.on("error", () => socket.destroy());
    const decoder = new FrameDecoder();
    const timer = setTimeout(() => {
      this.#greeting.delete(socket);
      this.#metrics.inc("quire_first_frame_timeouts_total");
      socket.off("data", onData);
      sendRefused(socket, 0n, refused(Refused_Code.UNSPECIFIED, `no Hello within ${this.#settings.helloTimeoutMs} ms; send the Hello as soon as you connect`));
    }, this.#settings.helloTimeoutMs);
    this.#greeting.set(socket, timer);
    socket.once("close", () => {
      clearTimeout(timer);
      this.#greeting.delete(socket);
    });
    const onData = (chunk: Buffer) => {
      decoder.push(chunk);
      const first = decoder.next();
      if (first === undefined) return;
      clearTimeout(timer);
      this.#greeting.delete(socket);
      socket.off("data", onData);
      if (first instanceof WireError) {
        this.#metrics.inc("quire_frame_errors_total", { code: first.code });
        return sendRefused(socket, 0n, refused(Refused_Code.UNSPECIFIED, first.message, { error: first.code }));
      }
      if (first.payloadProtocol === Lane.ADMIN && first.kind === Frame_Kind.REQUEST) return this.#serveAdmin(socket, decoder, first);
      if (first.payloadProtocol !== Lane.CONTROL || first.kind !== Frame_Kind.REQUEST) {
        return sendRefused(socket, first.requestId, refused(Refused_Code.UNSPECIFIED, "the first frame must be a Hello (a REQUEST on lane 0) or an admin request"));
      }
      // Nothing more may be read here: whatever follows the Hello belongs to the backend.
      stopReading(socket);
      const { hello, refused: malformed } = decodeHello(first);
      if (malformed) return sendRefused(socket, first.requestId, malformed);
      this.#serveHello(socket, decoder, first.requestId, hello).catch((error) => {
        this.#logger.log("error", "handshake failed", { error: String(error) });
        sendRefused(socket, first.requestId, refused(Refused_Code.INTERNAL, `quired failed to handle the Hello: ${(error as Error).message}; see quired.log`));
      });
    };
    socket.on("data", onData);
  }

  async #serveHello(socket: Socket, decoder: FrameDecoder, requestId: bigint, hello: Hello): Promise<void> {
    this.#metrics.inc("quire_hellos_total");
    const refuse = (r: Refused) => {
      this.#metrics.inc("quire_refused_total", { code: Refused_Code[r.code] ?? String(r.code) });
      sendRefused(socket, requestId, r);
    };
    const peer = hello.peerPid ? `pid:${hello.peerPid}` : "anonymous";
    const wait = this.#rateLimiter.take(peer);
    if (wait > 0) return refuse(refused(Refused_Code.RATE_LIMITED, "too many Hellos from this peer; wait and retry", {}, wait));
    if (this.#draining) return refuse(refused(Refused_Code.SHUTTING_DOWN, SHUTTING_DOWN_REASON));
    const invalid = checkHello(hello, { services: this.#settings.services, daemonVersion: QUIRE_VERSION });
    if (invalid) return refuse(invalid);
    if (this.#pendingTokens.countFor(peer) >= this.#settings.maxPendingTokensPerPeer) {
      const who = hello.peerPid ? `peer pid ${hello.peerPid}` : "peers that send no peer_pid";
      return refuse(refused(Refused_Code.RATE_LIMITED, `${this.#settings.maxPendingTokensPerPeer} handshakes are already in flight for ${who}; use the tokens already given (or let them expire) and retry`, {}, 100));
    }
    if (this.#pendingTokens.size() >= this.#settings.maxPendingTokens) {
      return refuse(refused(Refused_Code.RATE_LIMITED, `${this.#settings.maxPendingTokens} handshakes are already in flight; retry shortly`, {}, 100));
    }
    const backend = this.#backend(hello.serviceName);
    try {
      await backend.ensure();
    } catch (error) {
      const retry = error instanceof BackendUnavailableError ? error.retryAfterMs : 1_000;
      return refuse(refused(Refused_Code.BACKEND_SPAWN_FAILED, (error as Error).message, { service: hello.serviceName }, retry));
    }
    if (socket.destroyed) return;

    const id = this.#nextId++;
    const token = mintToken();
    const expiresAt = Date.now() + this.#settings.tokenTtlMs;
    this.#pendingTokens.add(id, peer, expiresAt);
    const handoff = this.#settings.handoff && (hello.clientCapabilities & CAP_HANDLE_PASSING) !== 0n;
    const negotiated = negotiatedFor(hello, QUIRE_VERSION, {
      backendPipe: backend.socketPath,
      serverCapabilities: handoff ? CAP_HANDLE_PASSING : 0n,
      handlePassedToken: token,
      connectionId: hello.connectionId || BigInt(id),
    });

    if (!handoff) {
      try {
        await backend.registerToken(id, token, expiresAt, this.#settings.handoffAckTimeoutMs);
      } catch (error) {
        this.#pendingTokens.delete(id);
        return refuse(refused(Refused_Code.BACKEND_SPAWN_FAILED, `the ${hello.serviceName} backend did not take the token: ${(error as Error).message}`, {}, 250));
      }
      this.#metrics.inc("quire_negotiated_total", { path: "reconnect" });
      // We stopped reading at the Hello, so the client's EOF is never seen: close once our bytes are out.
      if (await sendNegotiated(socket, requestId, negotiated)) socket.destroySoon();
      return;
    }

    this.#metrics.inc("quire_negotiated_total", { path: "handoff" });
    if (!(await sendNegotiated(socket, requestId, negotiated))) return;
    const pending = takeBuffered(socket, decoder);
    const offer = HandoffOffer.encode({ handleValue: 0n, token, serviceName: hello.serviceName, correlationId: BigInt(id) }).finish();
    try {
      const ack = await backend.offer(socket, offer, BigInt(id), pending, Date.now() + this.#settings.handoffAckTimeoutMs, expiresAt);
      this.#metrics.inc("quire_handoffs_total", { outcome: ack.accepted ? "accepted" : "refused" });
      if (ack.accepted) this.#pendingTokens.delete(id);
      else this.#logger.log("warn", "backend refused a handoff; the client will reconnect", { service: hello.serviceName, detail: ack.errorDetail });
    } catch (error) {
      // The client sees its connection close before the ready event and reconnects with the same token
      // (BackendProcess.offer has closed our copy of the socket, even one already written to the channel).
      this.#metrics.inc("quire_handoffs_total", { outcome: "failed" });
      this.#logger.log("warn", "handoff failed; the client will reconnect", { service: hello.serviceName, error: String(error) });
      socket.destroy();
    }
  }

  /**
   * Answers admin requests in order. A client that sends faster than it reads is not read from while
   * its answers are backed up (write() returned false): what one admin connection holds is bounded by the
   * socket's buffers, never by how many requests it pipelines.
   */
  #serveAdmin(socket: Socket, decoder: FrameDecoder, first: Frame): void {
    this.#adminSockets.add(socket);
    socket.once("close", () => this.#adminSockets.delete(socket));
    let blocked = false;
    let failed = false;
    /** False once the socket's write buffer is full: stop until "drain". */
    const answer = (frame: Frame): boolean => {
      if (frame.kind !== Frame_Kind.REQUEST || frame.payloadProtocol !== Lane.ADMIN) return true;
      const { response, op, after } = handleAdmin(frame.payload, this.#adminContext);
      this.#metrics.inc("quire_admin_requests_total", { op });
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

  readonly #adminContext: AdminContext = {
    status: () => this.status(),
    ready: () => {
      if (this.#draining) return { ok: false, detail: "draining" };
      const failed = [...this.#backends.values()].filter((b) => b.state === "failed" || b.state === "backoff");
      if (failed.length) return { ok: false, detail: `backends down: ${failed.map((b) => `${b.service} (${b.lastError})`).join(", ")}` };
      return { ok: true, detail: "accepting clients" };
    },
    metrics: () => this.#renderMetrics(),
    shutdown: () => void this.stop(),
  };

  status(): DaemonStatus {
    const now = Date.now();
    return DaemonStatus.fromPartial({
      daemonVersion: QUIRE_VERSION,
      pid: process.pid,
      startedUnixMs: BigInt(this.#startedAt),
      uptimeMs: BigInt(now - this.#startedAt),
      socket: this.places.socket,
      home: this.places.home ?? "",
      minProtocol: PROTOCOL_MIN,
      maxProtocol: PROTOCOL_MAX,
      draining: this.#draining !== undefined,
      backends: this.#settings.services.map((service) => {
        const b = this.#backends.get(service);
        return {
          service,
          pid: b?.pid ?? 0,
          state: b?.state ?? "stopped",
          clients: b?.clients ?? 0,
          restarts: b?.restarts ?? 0,
          socket: this.places.backendSocket(service),
          startedUnixMs: BigInt(b?.startedAt ?? 0),
          lastError: b?.lastError ?? "",
        };
      }),
    });
  }

  #renderMetrics(): string {
    const backends = [...this.#backends.values()];
    return this.#metrics.render({
      quire_pending_tokens: { help: "Tokens minted and not yet used or expired", values: [[{}, this.#pendingTokens.size()]] },
      quire_backend_up: { help: "1 when the service's backend is ready", values: backends.map((b) => [{ service: b.service }, b.state === "ready" ? 1 : 0]) },
      quire_backend_restarts: { help: "Respawns after a crash", values: backends.map((b) => [{ service: b.service }, b.restarts]) },
      quire_backend_clients: { help: "Clients a backend is serving", values: backends.map((b) => [{ service: b.service }, b.clients]) },
      quire_handoffs_in_flight: { help: "Sockets offered to a backend and not yet ACKed", values: backends.map((b) => [{ service: b.service }, b.offersInFlight]) },
    });
  }

  #backend(service: string): BackendProcess {
    let backend = this.#backends.get(service);
    if (!backend) {
      backend = new BackendProcess({
        service,
        socketPath: this.places.backendSocket(service),
        logFd: this.#logFd,
        logger: this.#logger,
        respawn: this.#settings.respawn,
        startTimeoutMs: this.#settings.backendStartTimeoutMs,
        liveness: { intervalMs: this.#settings.livenessIntervalMs, timeoutMs: this.#settings.livenessTimeoutMs },
      });
      backend.on("token-used", (id: number) => this.#pendingTokens.delete(id));
      this.#backends.set(service, backend);
    }
    return backend;
  }
}

/**
 * `socket.pause()` alone does not stop the handle from reading, and bytes read after the handle is sent
 * to another process are lost. Stop at the handle itself.
 */
function stopReading(socket: Socket): void {
  socket.pause();
  (socket as unknown as { _handle?: { readStop?(): number } })._handle?.readStop?.();
}

/** Everything this side read past the Hello, in order, so the backend sees the stream whole. */
function takeBuffered(socket: Socket, decoder: FrameDecoder): Buffer {
  const parts = [decoder.takeRemainder()];
  for (let chunk: Buffer | null = socket.read(); chunk !== null; chunk = socket.read()) parts.push(chunk);
  return Buffer.concat(parts);
}
