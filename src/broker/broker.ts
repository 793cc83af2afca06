// quired: accepts connections and routes each by its first frame: a Hello to the handshake (which hands
// the client to its service's backend, or tells it where to reconnect), an admin request to the admin
// server. It owns the lifecycle: start, the backends it supervises, and the drain.
import { mkdirSync } from "node:fs";
import type { Server, Socket } from "node:net";
import { decodeHello, refused, sendRefused } from "../core/hello-checks.js";
import { jsonLogger, LogFile, type Logger } from "../core/log.js";
import type { Places } from "../core/places.js";
import { SERVICE_NAMES } from "../core/services.js";
import type { DaemonStatus } from "../gen/quire/v1/admin.js";
import { Frame_Kind } from "../gen/quire/v1/frame.js";
import { Refused_Code } from "../gen/quire/v1/hello.js";
import { WireError } from "../wire/errors.js";
import { FrameDecoder } from "../wire/framing.js";
import { Lane } from "../wire/lanes.js";
import { QUIRE_VERSION } from "../version.js";
import { AdminServer } from "./admin-server.js";
import { RootRefusedError } from "./errors.js";
import { HandshakeServer, SHUTTING_DOWN_REASON, stopReading } from "./serve-hello.js";
import type { DaemonLock } from "./daemon-lock.js";
import { adoptListener, claimSocket, listenExclusive, secureDirectory } from "./listener.js";
import { Metrics } from "./metrics.js";
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
  /** Serve this inherited listening socket (systemd socket activation) instead of listening on places.socket. */
  listenFd?: number;
  /** Rotate quired.log before it would grow past this (default 10 MiB; 0: never). */
  logMaxBytes?: number;
  /** Log files kept in all, quired.log included (default 5). */
  logFiles?: number;
  /** Stop a backend with no Hello and no clients this long whose service says it is idle; the next Hello starts it again (0: never). */
  backendIdleMs?: number;
  /** Exit (draining as on SHUTDOWN) once no backend has run and no client has connected this long (0: never). */
  exitWhenIdleMs?: number;
}

type Settings = Required<Omit<BrokerOptions, "places" | "respawn" | "listenFd">> & { respawn: RespawnPolicy };

export const DEFAULT_LOG_MAX_BYTES = 10 * 1024 * 1024;
export const DEFAULT_LOG_FILES = 5;
export const DEFAULT_BACKEND_IDLE_MS = 10 * 60_000;

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
    logMaxBytes: DEFAULT_LOG_MAX_BYTES,
    logFiles: DEFAULT_LOG_FILES,
    backendIdleMs: DEFAULT_BACKEND_IDLE_MS,
    exitWhenIdleMs: 0,
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
  readonly #log: LogFile;
  readonly #metrics = new Metrics();
  readonly #backends = new Map<string, BackendProcess>();
  readonly #handshakes: HandshakeServer;
  readonly #admin: AdminServer;
  /** Connections that have not sent their first frame yet, with their deadline timers. */
  readonly #greeting = new Map<Socket, NodeJS.Timeout>();
  readonly #startedAt = Date.now();
  #server: Server | undefined;
  /** Held from before the socket is touched until the drain is over: one quired per socket. */
  #lock: DaemonLock | undefined;
  #draining: Promise<void> | undefined;
  /** When the daemon last had something to do (a connection, a running backend), for --exit-when-idle. */
  #lastBusy = Date.now();
  #idleExitTimer: NodeJS.Timeout | undefined;
  #resolveClosed!: () => void;
  /** Resolves when the broker has drained and stopped. */
  readonly closed = new Promise<void>((resolve) => (this.#resolveClosed = resolve));

  private constructor(options: BrokerOptions, log: LogFile) {
    this.places = options.places;
    this.#settings = settings(options);
    this.#log = log;
    this.#logger = jsonLogger(log, "broker");
    const draining = () => this.#draining !== undefined;
    this.#handshakes = new HandshakeServer({
      settings: this.#settings,
      metrics: this.#metrics,
      logger: this.#logger,
      backend: (service) => this.#backend(service),
      draining,
    });
    this.#admin = new AdminServer({
      places: this.places,
      services: this.#settings.services,
      startedAt: this.#startedAt,
      metrics: this.#metrics,
      backends: () => this.#backends.values(),
      backend: (service) => this.#backends.get(service),
      pendingTokens: () => this.#handshakes.pendingTokens,
      draining,
      stop: () => void this.stop(),
    });
  }

  static async start(options: BrokerOptions): Promise<Broker> {
    if (process.getuid?.() === 0 && !options.allowRoot) throw new RootRefusedError();
    const { places } = options;
    secureDirectory(places.socketDir);
    const lock = await claimSocket(places.socket, options.listenFd !== undefined);
    if (places.dataDir !== places.socketDir) mkdirSync(places.dataDir, { recursive: true, mode: 0o700 });
    mkdirSync(places.logDir, { recursive: true, mode: 0o700 });
    const { logMaxBytes, logFiles } = settings(options);
    const log = new LogFile(places.logFile, { maxBytes: logMaxBytes, files: logFiles });
    const broker = new Broker(options, log);
    broker.#lock = lock;
    try {
      const onConnection = (socket: Socket) => broker.#onConnection(socket);
      broker.#server =
        options.listenFd === undefined
          ? await listenExclusive(places.socket, onConnection)
          : await adoptListener(options.listenFd, places.socket, onConnection);
    } catch (error) {
      log.close();
      lock.release();
      throw error;
    }
    broker.#logger.log("info", "quired listening", {
      socket: places.socket,
      version: QUIRE_VERSION,
      pid: process.pid,
      socketActivated: options.listenFd !== undefined,
    });
    broker.#watchIdle();
    return broker;
  }

  /** Drain: stop accepting, let backends finish, then stop. Safe to call more than once. */
  stop(): Promise<void> {
    this.#draining ??= this.#drain();
    return this.#draining;
  }

  /** Reopens quired.log at its path (SIGHUP: an external logrotate has moved it). */
  reopenLog(): void {
    this.#log.reopen();
    this.#logger.log("info", "log reopened", { path: this.places.logFile });
  }

  /** What `quirectl status` shows. */
  status(): DaemonStatus {
    return this.#admin.status();
  }

  /**
   * --exit-when-idle: a daemon started on demand goes away once nothing has used it for the given time:
   * no connection, and every backend stopped (for idleness, see --backend-idle-ms) or never started.
   */
  #watchIdle(): void {
    const ms = this.#settings.exitWhenIdleMs;
    if (ms <= 0) return;
    const check = () => {
      const now = Date.now();
      const busy =
        this.#greeting.size > 0 ||
        this.#admin.connections > 0 ||
        [...this.#backends.values()].some((b) => b.state !== "stopped" && b.state !== "failed");
      if (busy) this.#lastBusy = now;
      if (now - this.#lastBusy >= ms) {
        this.#logger.log("info", "idle: exiting", { exitWhenIdleMs: ms });
        void this.stop();
        return;
      }
      this.#idleExitTimer = setTimeout(check, Math.min(ms, 1_000));
    };
    this.#idleExitTimer = setTimeout(check, Math.min(ms, 1_000));
  }

  async #drain(): Promise<void> {
    clearTimeout(this.#idleExitTimer);
    this.#logger.log("info", "draining");
    this.#server?.close();
    for (const [socket, timer] of this.#greeting) {
      clearTimeout(timer);
      sendRefused(socket, 0n, refused(Refused_Code.SHUTTING_DOWN, SHUTTING_DOWN_REASON));
    }
    this.#greeting.clear();
    await Promise.all([...this.#backends.values()].map((b) => b.drain(this.#settings.drainGraceMs)));
    this.#admin.closeAll();
    this.#logger.log("info", "quired stopped");
    this.#log.close();
    this.#lock?.release();
    this.#resolveClosed();
  }

  /** A new connection: wait (bounded) for its first frame, then route it by what that frame is. */
  #onConnection(socket: Socket): void {
    this.#metrics.inc("quire_connections_total");
    this.#lastBusy = Date.now();
    socket.on("error", () => socket.destroy());
    const decoder = new FrameDecoder();
    const timer = setTimeout(() => {
      this.#greeting.delete(socket);
      this.#metrics.inc("quire_first_frame_timeouts_total");
      socket.off("data", onData);
      sendRefused(
        socket,
        0n,
        refused(Refused_Code.UNSPECIFIED, `no Hello within ${this.#settings.helloTimeoutMs} ms; send the Hello as soon as you connect`),
      );
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
      if (first.payloadProtocol === Lane.ADMIN && first.kind === Frame_Kind.REQUEST) return this.#admin.serve(socket, decoder, first);
      if (first.payloadProtocol !== Lane.CONTROL || first.kind !== Frame_Kind.REQUEST) {
        return sendRefused(
          socket,
          first.requestId,
          refused(Refused_Code.UNSPECIFIED, "the first frame must be a Hello (a REQUEST on lane 0) or an admin request"),
        );
      }
      // Nothing more may be read here: whatever follows the Hello belongs to the backend.
      stopReading(socket);
      const { hello, refused: malformed } = decodeHello(first);
      if (malformed) return sendRefused(socket, first.requestId, malformed);
      this.#handshakes.serve(socket, decoder, first.requestId, hello);
    };
    socket.on("data", onData);
  }

  #backend(service: string): BackendProcess {
    let backend = this.#backends.get(service);
    if (!backend) {
      backend = new BackendProcess({
        service,
        socketPath: this.places.backendSocket(service),
        home: this.places.home,
        writeLog: (line) => this.#log.writeLine(line),
        logger: this.#logger,
        respawn: this.#settings.respawn,
        startTimeoutMs: this.#settings.backendStartTimeoutMs,
        liveness: { intervalMs: this.#settings.livenessIntervalMs, timeoutMs: this.#settings.livenessTimeoutMs },
        idleMs: this.#settings.backendIdleMs,
        idleDrainGraceMs: this.#settings.drainGraceMs,
      });
      backend.on("idle-stop", () => this.#metrics.inc("quire_backend_idle_stops_total", { service }));
      backend.on("token-used", (id: number) => this.#handshakes.tokenUsed(id));
      backend.on("ack-latency", (seconds: number) => this.#metrics.handoffAck.observe(seconds, { service }));
      this.#backends.set(service, backend);
    }
    return backend;
  }
}
