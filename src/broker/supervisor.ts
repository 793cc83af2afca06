// One supervised backend process per service: launched on first need with an IPC channel, watched, and
// respawned after a crash within a budget. While it is down its clients are told when to retry.
import { fork, type ChildProcess, type SendHandle } from "node:child_process";
import { EventEmitter } from "node:events";
import type { Socket } from "node:net";
import { fileURLToPath } from "node:url";
import { fromBytes, isControlMessage, toBytes, type BackendMessage, type BrokerMessage } from "../core/control.js";
import { handoffMark, marking } from "../core/handoff-marks.js";
import { pipeLines, type Logger } from "../core/log.js";
import { isMetricFamily, type MetricFamily } from "../core/metrics.js";
import { backendNodeFlags } from "../core/services.js";
import { newTokenKey, TokenSealer } from "../core/tokens.js";
import { HandoffAck } from "../gen/quire/v1/handoff.js";
import { ControlRequests, type IdleAnswer } from "./control-requests.js";
import { BackendNotRunningError, BackendUnavailableError, HandoffSocketClosedError } from "./errors.js";
import { RespawnBudget, TYPICAL_START_MS, type RespawnPolicy } from "./respawn-budget.js";

export type { RespawnPolicy } from "./respawn-budget.js";

/** A token and what the broker keeps of it: its id (reported back when used) and its expiry. */
export interface MintedToken {
  token: Buffer;
  id: number;
  expiresAt: number;
}

/** A spare token sealed longer ago than this (or a tenth of the TTL) is not handed out; a fresh one is sealed instead. */
const SPARE_TOKEN_MAX_AGE_MS = 1_000;

export type BackendState = "stopped" | "starting" | "ready" | "backoff" | "failed" | "draining";

export interface LivenessPolicy {
  /** Ping the backend this long after its last pong; 0 turns the check off. */
  intervalMs: number;
  /** A ping not answered within this time gets the backend killed and respawned. */
  timeoutMs: number;
}

export interface BackendProcessOptions {
  service: string;
  socketPath: string;
  /** The broker's QUIRE_HOME, passed on so the backend finds the same places. */
  home?: string;
  /** Writes one line to quired.log: the backend's stdout and stderr are copied there a line at a time. */
  writeLog(line: string): void;
  logger: Logger;
  respawn: RespawnPolicy;
  startTimeoutMs: number;
  liveness: LivenessPolicy;
  /** Stop the backend once it has had no Hello and no clients this long and says it is idle (0: never). */
  idleMs?: number;
  /** How long a backend stopped for idleness may take to drain. */
  idleDrainGraceMs?: number;
}

const BACKEND_MAIN = fileURLToPath(new URL("../backend/main.js", import.meta.url));
/**
 * How long a draining backend has after its grace before we SIGKILL it. When the grace runs out it
 * SIGKILLs every tree its service started and exits once they are gone; finding them all took 4.2 s at
 * load 20, and a backend killed before it is done leaves the rest running.
 */
const KILL_ALLOWANCE_MS = 10_000;

export class BackendProcess extends EventEmitter {
  readonly service: string;
  state: BackendState = "stopped";
  restarts = 0;
  clients = 0;
  startedAt = 0;
  lastError = "";
  readonly #options: BackendProcessOptions;
  #child: ChildProcess | undefined;
  #starting: Promise<void> | undefined;
  readonly #budget: RespawnBudget;
  #respawnTimer: NodeJS.Timeout | undefined;
  /** Why we killed the current process ourselves, if we did: reported instead of the bare signal. */
  #killedBecause: string | undefined;
  #livenessTimer: NodeJS.Timeout | undefined;
  #pingSeq = 0;
  /** Resolves when the current process's stdout and stderr have been copied to the log to their end. */
  #output: Promise<void> = Promise.resolve();
  /** Offers, metrics and idle questions sent to the current process and not yet answered. */
  readonly #requests: ControlRequests;
  /** Seals tokens under the key of the current launch; a respawned backend gets a new key. */
  #sealer: TokenSealer | undefined;
  /** A token sealed ahead under #sealer, for the next Hello. */
  #spareToken: MintedToken | undefined;
  #sealingSpare = false;
  /** The last Hello routed here (ensure()); idleness counts from it. */
  #lastUsed = Date.now();
  #idleTimer: NodeJS.Timeout | undefined;
  /** Set while the backend drains because it was idle: a Hello then waits for it and starts a new one. */
  #idleStop: Promise<void> | undefined;

  constructor(options: BackendProcessOptions) {
    super();
    this.service = options.service;
    this.#options = options;
    this.#requests = new ControlRequests(options.service);
    this.#budget = new RespawnBudget(options.respawn);
  }

  get pid(): number {
    return this.state === "ready" || this.state === "starting" || this.state === "draining" ? (this.#child?.pid ?? 0) : 0;
  }

  get socketPath(): string {
    return this.#options.socketPath;
  }

  /** Resolves once the backend is ready; rejects with BackendUnavailableError (and a retry time) otherwise. */
  ensure(now = Date.now()): Promise<void> {
    this.#lastUsed = now;
    if (this.#idleStop !== undefined) return this.#idleStop.then(() => this.ensure());
    switch (this.state) {
      case "ready":
        return Promise.resolve();
      case "starting":
        return this.#starting!;
      case "stopped":
        return this.#launch();
      case "backoff":
        return Promise.reject(
          new BackendUnavailableError(this.service, `restarting after a crash (${this.lastError})`, this.#retryAfter(now)),
        );
      case "failed": {
        if (this.#retryAfter(now) <= 0) return this.#launch();
        const why = `crashed ${this.#budget.crashes} times in ${this.#budget.windowMs / 1000} s (${this.lastError}); see quired.log`;
        return Promise.reject(new BackendUnavailableError(this.service, why, this.#retryAfter(now)));
      }
      case "draining":
        return Promise.reject(new BackendUnavailableError(this.service, "draining", 0));
    }
  }

  /**
   * A one-time token the running backend checks by itself (no registration round trip), good for this
   * launch of the backend only: call once ensure() has resolved. Sealing is the costliest step of
   * answering a Hello, so a spare is sealed after each Hello, off the path of the next one; `newId` gives
   * each token the broker's id for it.
   */
  takeToken(ttlMs: number, newId: () => number): MintedToken {
    const sealer = this.#sealer;
    if (!sealer) throw new BackendUnavailableError(this.service, "not running", this.#retryAfter());
    let minted = this.#spareToken;
    this.#spareToken = undefined;
    // A token's TTL counts from its sealing: an old spare would give the client less than the TTL.
    if (!minted || minted.expiresAt - Date.now() < ttlMs - Math.min(SPARE_TOKEN_MAX_AGE_MS, ttlMs / 10))
      minted = this.#seal(sealer, ttlMs, newId());
    if (!this.#sealingSpare) {
      this.#sealingSpare = true;
      setImmediate(() => {
        this.#sealingSpare = false;
        if (this.#sealer === sealer) this.#spareToken = this.#seal(sealer, ttlMs, newId());
      });
    }
    return minted;
  }

  #seal(sealer: TokenSealer, ttlMs: number, id: number): MintedToken {
    const expiresAt = Date.now() + ttlMs;
    return { token: sealer.mint(this.service, expiresAt, id), id, expiresAt };
  }

  /** Offers sent and not yet ACKed (or given up). */
  get offersInFlight(): number {
    return this.#requests.acks.size;
  }

  /**
   * Passes a client socket with an offer; resolves with the backend's ACK, rejects when it does not come
   * in time or the backend dies first. On rejection the broker's copy of the socket is closed.
   */
  offer(socket: Socket, offer: Uint8Array, correlationId: bigint, pending: Uint8Array, deadline: number): Promise<HandoffAck> {
    // The bare handle goes, not the Socket: Node then makes no Socket of its own in the backend (which
    // makes one that reads into its frame decoder) and keeps no list of passed sockets on either side.
    const handle = detachHandle(socket);
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const acked = (ack: HandoffAck) => {
        this.emit("ack-latency", (performance.now() - started) / 1000);
        resolve(ack);
      };
      // Closing our copy is what lets the client see EOF and reconnect. Closing it twice is harmless.
      const fail = (error: Error) => {
        handle?.close();
        reject(error);
      };
      if (!handle) return fail(new HandoffSocketClosedError(this.service));
      this.#requests.acks.wait(correlationId, acked, fail, deadline - Date.now());
      const message: BrokerMessage = { t: "offer", offer: toBytes(offer), pending: toBytes(pending), deadline };
      // A handle Node could not send yet (the channel waits for the previous one's acknowledgement) stays
      // ours until this callback; once it runs the descriptor is in the backend's queue and ours can go.
      const sent = this.#send(message, handle, (error) => {
        if (marking) handoffMark(correlationId, "offer-send-callback");
        if (error) this.#requests.acks.settle(correlationId)?.reject(error);
        else handle.close();
      });
      if (marking) handoffMark(correlationId, "offer-sent");
      if (!sent) this.#requests.acks.settle(correlationId)?.reject(new BackendNotRunningError(this.service, "no control channel"));
    });
  }

  /** The backend's metric families (none when it is not ready); rejects when it does not answer in time. */
  collectMetrics(timeoutMs: number): Promise<MetricFamily[]> {
    if (this.state !== "ready") return Promise.resolve([]);
    const seq = this.#requests.nextSeq();
    return new Promise((resolve, reject) => {
      this.#requests.metrics.wait(seq, resolve, reject, timeoutMs);
      if (!this.#send({ t: "metrics", seq }))
        this.#requests.metrics.settle(seq)?.reject(new BackendNotRunningError(this.service, "no control channel"));
    });
  }

  /** Asks the backend to finish and exit; resolves when it has, killing it if it overstays. */
  drain(graceMs: number): Promise<void> {
    if (this.#idleStop !== undefined) return this.#idleStop;
    clearTimeout(this.#respawnTimer);
    clearTimeout(this.#livenessTimer);
    clearTimeout(this.#idleTimer);
    const child = this.#child;
    const wasLive = this.state === "ready" || this.state === "starting";
    this.state = "draining";
    if (!child || !wasLive || child.exitCode !== null || child.signalCode !== null) {
      this.state = "stopped";
      return Promise.resolve();
    }
    const output = this.#output;
    return new Promise((resolve) => {
      const kill = setTimeout(() => child.kill("SIGKILL"), graceMs + KILL_ALLOWANCE_MS);
      child.once("exit", () => {
        clearTimeout(kill);
        // Its last lines, bounded: a grandchild holding the pipe open must not hold up the drain.
        void Promise.race([output, new Promise((r) => setTimeout(r, 1_000))]).then(() => resolve());
      });
      this.#send({ t: "drain", graceMs });
    });
  }

  #launch(): Promise<void> {
    this.state = "starting";
    const { service, socketPath, home, writeLog, startTimeoutMs } = this.#options;
    // Pipes, not the log file itself: only the broker writes quired.log, so it can rotate it between lines.
    const child = fork(BACKEND_MAIN, [service, socketPath, home ?? ""], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      execArgv: [...process.execArgv, ...backendNodeFlags(service)],
    });
    this.#child = child;
    const key = newTokenKey();
    this.#sealer = new TokenSealer(key);
    const fallback = (stream: string) => () => ({
      level: stream === "stderr" ? "warn" : "info",
      component: `backend:${service}`,
      pid: child.pid,
      stream,
    });
    this.#output = Promise.all([
      pipeLines(child.stdout!, writeLog, fallback("stdout")),
      pipeLines(child.stderr!, writeLog, fallback("stderr")),
    ]).then(() => {});
    this.#starting = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#killedBecause = `did not become ready within ${startTimeoutMs} ms`;
        child.kill("SIGKILL");
      }, startTimeoutMs);
      child.on("message", (message: unknown) => {
        if (!isControlMessage(message)) return;
        const m = message as BackendMessage;
        // The backend asks once its listener is attached: a message sent before that would be lost.
        if (m.t === "want-key") this.#send({ t: "key", key: toBytes(key) });
        else if (m.t === "ready" && this.state === "starting") {
          clearTimeout(timer);
          this.state = "ready";
          this.startedAt = Date.now();
          this.#options.logger.log("info", "backend launched", { service, backendPid: child.pid });
          this.#schedulePing(child);
          this.#scheduleIdleCheck(child);
          resolve();
        } else this.#onMessage(m);
      });
      if (marking) {
        // Node's own acknowledgement of a passed handle; until it arrives, everything else sent on the channel waits.
        child.on("internalMessage", (message: { cmd?: string }) => {
          if (message?.cmd === "NODE_HANDLE_ACK") handoffMark("-", "node-handle-ack");
        });
      }
      child.on("error", (error) => {
        this.lastError = error.message;
      });
      child.once("exit", (code, signal) => {
        clearTimeout(timer);
        this.#onExit(child, code, signal);
        if (this.state !== "ready") reject(new BackendUnavailableError(service, this.lastError, this.#retryAfter()));
      });
    });
    return this.#starting;
  }

  #onMessage(m: BackendMessage): void {
    switch (m.t) {
      case "failed":
        this.#killedBecause = `could not start: ${m.error}`;
        return;
      case "ack": {
        let ack: HandoffAck;
        try {
          ack = HandoffAck.decode(fromBytes(m.ack));
        } catch {
          return;
        }
        if (marking) handoffMark(ack.correlationId, "ack-received");
        const waiter = this.#requests.acks.settle(ack.correlationId);
        if (waiter) waiter.resolve(ack);
        // Too late for the offer, which has failed, but the backend serves the client: its token is used.
        else if (ack.accepted) this.emit("token-used", Number(ack.correlationId));
        return;
      }
      case "token-used":
        this.emit("token-used", m.id);
        return;
      case "clients":
        this.clients = m.count;
        return;
      case "idle":
        this.#requests.idleQuestions.settle(m.seq)?.resolve({ idle: m.idle === true, why: String(m.why ?? "") });
        return;
      case "metrics":
        this.#requests.metrics.settle(m.seq)?.resolve(Array.isArray(m.families) ? m.families.filter(isMetricFamily) : []);
        return;
      case "pong":
        if (m.seq === this.#pingSeq && this.#child) this.#schedulePing(this.#child);
        return;
    }
  }

  /** After idleMs without a Hello: no clients, nothing in flight, and the service says it has no work -> drain it. */
  #scheduleIdleCheck(child: ChildProcess, delayMs = this.#options.idleMs ?? 0): void {
    clearTimeout(this.#idleTimer);
    const idleMs = this.#options.idleMs ?? 0;
    if (idleMs <= 0) return;
    this.#idleTimer = setTimeout(() => void this.#checkIdle(child), Math.max(10, delayMs)).unref();
  }

  async #checkIdle(child: ChildProcess): Promise<void> {
    if (child !== this.#child || this.state !== "ready") return;
    const idleMs = this.#options.idleMs ?? 0;
    const quietFor = Date.now() - this.#lastUsed;
    if (quietFor < idleMs) return this.#scheduleIdleCheck(child, idleMs - quietFor);
    if (this.clients > 0 || this.#requests.acks.size > 0) return this.#scheduleIdleCheck(child);
    const asked = Date.now();
    const seq = this.#requests.nextSeq();
    let answer: IdleAnswer;
    try {
      answer = await new Promise((resolve, reject) => {
        this.#requests.idleQuestions.wait(seq, resolve, reject, 2_000);
        if (!this.#send({ t: "idle", seq }))
          this.#requests.idleQuestions.settle(seq)?.reject(new BackendNotRunningError(this.service, "no control channel"));
      });
    } catch {
      return this.#scheduleIdleCheck(child);
    }
    // Anything that happened meanwhile (a Hello, a client) means it is not idle after all.
    if (child !== this.#child || this.state !== "ready") return;
    if (!answer.idle || this.#lastUsed > asked || this.clients > 0 || this.#requests.acks.size > 0) return this.#scheduleIdleCheck(child);
    this.#options.logger.log("info", "backend idle: stopping it until the next Hello", {
      service: this.service,
      backendPid: child.pid,
      idleMs,
    });
    this.emit("idle-stop");
    const stopped = this.drain(this.#options.idleDrainGraceMs ?? 10_000);
    this.#idleStop = stopped.then(() => {
      this.#idleStop = undefined;
    });
  }

  #schedulePing(child: ChildProcess): void {
    clearTimeout(this.#livenessTimer);
    const { intervalMs } = this.#options.liveness;
    if (intervalMs > 0) this.#livenessTimer = setTimeout(() => this.#ping(child), intervalMs).unref();
  }

  /**
   * A stopped (SIGSTOP) or spinning backend keeps its channel open and looks ready while every handoff
   * and reconnect to it fails: a ping it does not answer in time gets it killed (SIGKILL, the one signal
   * a stopped process cannot hold off) and respawned like a crashed one, within the same budget.
   */
  #ping(child: ChildProcess): void {
    if (child !== this.#child || this.state !== "ready") return;
    const { timeoutMs } = this.#options.liveness;
    const seq = ++this.#pingSeq;
    this.#livenessTimer = setTimeout(() => {
      if (child !== this.#child || this.state !== "ready" || seq !== this.#pingSeq) return;
      this.#killedBecause = `stopped answering liveness pings (none for ${timeoutMs} ms); killed it with SIGKILL`;
      this.lastError = this.#killedBecause;
      // Refuse Hellos from now on, not from the moment the exit is noticed.
      this.state = "backoff";
      this.#budget.respawnDue(Date.now());
      this.#options.logger.log("warn", "backend unresponsive", { service: this.service, backendPid: child.pid, timeoutMs });
      child.kill("SIGKILL");
    }, timeoutMs).unref();
    this.#send({ t: "ping", seq });
  }

  #onExit(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.#child) return;
    this.#child = undefined;
    this.#sealer = undefined;
    this.#spareToken = undefined;
    this.clients = 0;
    clearTimeout(this.#livenessTimer);
    const why = signal ? `killed by ${signal}` : `exited with code ${code}`;
    clearTimeout(this.#idleTimer);
    this.#requests.rejectAll(() => new BackendNotRunningError(this.service, why));
    const killedBecause = this.#killedBecause;
    this.#killedBecause = undefined;
    // "stopped": drain() ran while a process we had just killed was still exiting.
    if (this.state === "draining" || this.state === "stopped") {
      this.state = "stopped";
      return;
    }
    this.lastError = killedBecause ?? why;
    this.#options.logger.log("warn", "backend died", { service: this.service, backendPid: child.pid, why });
    if (!this.#budget.crashed(Date.now())) {
      this.state = "failed";
      this.#options.logger.log("error", "backend crash budget exhausted", { service: this.service, crashes: this.#budget.crashes });
      return;
    }
    this.state = "backoff";
    this.#respawnTimer = setTimeout(() => {
      this.restarts++;
      this.#launch().catch(() => {});
    }, this.#options.respawn.delayMs);
  }

  /** When a Hello refused now should come back. In the failed state: when the oldest crash leaves the window. */
  #retryAfter(now = Date.now()): number {
    if (this.state === "backoff") return this.#budget.retryAfterRespawn(now);
    if (this.state === "failed") return this.#budget.retryAfterSpent(now);
    return TYPICAL_START_MS;
  }

  /**
   * False when there is no live channel to send on; send errors reach `callback`. There is always a
   * callback: without one, a write to a backend that died a moment ago (EPIPE) becomes an 'error' event.
   * The backend's death itself is handled on 'exit'.
   */
  #send(message: BrokerMessage, handle?: PipeHandle, callback: (error: Error | null) => void = () => {}): boolean {
    const child = this.#child;
    if (!child?.connected) return false;
    try {
      child.send(message, handle as unknown as SendHandle, callback);
    } catch (error) {
      callback(error as Error);
    }
    return true;
  }
}

/** A connection's native handle (Node's Pipe), as `child.send` passes it ('net.Native'). */
interface PipeHandle {
  close(): void;
}

/**
 * Takes the handle out of `socket` (undefined when it has none left) and lets the socket go: destroying
 * a socket without a handle closes nothing, but does the server's bookkeeping of its connections. It is
 * destroyed a tick later, after the callback of the write just made (Negotiated): a stream destroyed with
 * a write callback pending makes an Error, stack and all, when that callback comes.
 */
function detachHandle(socket: Socket): PipeHandle | undefined {
  const holder = socket as unknown as { _handle: PipeHandle | null };
  const handle = holder._handle ?? undefined;
  holder._handle = null;
  process.nextTick(() => socket.destroy());
  return handle;
}
