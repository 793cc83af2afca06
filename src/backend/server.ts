// The backend SDK: a worker process the broker launched with an IPC channel. It adopts sockets the broker
// hands off, accepts reconnect Hellos on its own socket, checks and consumes tokens, and serves frames.
import { chmodSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { type Frame, Frame_Kind } from "../gen/quire/v1/frame.js";
import { HandoffAck, HandoffOffer } from "../gen/quire/v1/handoff.js";
import { Refused_Code } from "../gen/quire/v1/hello.js";
import { FrameDecoder, newFrame } from "../wire/framing.js";
import { WireError } from "../wire/errors.js";
import { Lane } from "../wire/lanes.js";
import { BodyPool } from "../wire/body-pool.js";
import { MAX_FRAME_BODY_BYTES } from "../wire/protocol.js";
import { QUIRE_VERSION } from "../version.js";
import { closeHandle, socketReadingInto } from "./reading-socket.js";
import { ServedConnection, type ServiceHandler } from "./served-connection.js";
import { fromBytes, isControlMessage, toBytes, type BackendMessage, type BrokerMessage } from "../core/control.js";
import { handoffMark, marking } from "../core/handoff-marks.js";
import type { Logger } from "../core/log.js";
import { checkHello, decodeHello, negotiatedFor, refused, sendNegotiated, sendRefused, type HelloRules } from "../core/hello-checks.js";
import { TokenChecker } from "../core/tokens.js";
import { Subprocess } from "../runtime/index.js";

/** How long an orphaned backend gives its work before it kills what is left and exits. */
const ORPHAN_GRACE_MS = 5_000;
/** The clients count goes to the broker at most this often. */
const CLIENTS_REPORT_MS = 50;

export interface BackendOptions {
  service: string;
  /** The backend's own socket, where reconnecting clients dial. */
  socketPath: string;
  handler: ServiceHandler;
  logger: Logger;
  /** How long a reconnecting client has to send its Hello. */
  helloTimeoutMs?: number;
  /** The grace of the drain a broker's death starts (default ORPHAN_GRACE_MS). */
  orphanGraceMs?: number;
}

export class BackendServer {
  readonly #options: BackendOptions;
  /** Checks the tokens the broker seals with the key it gives us at start. */
  #tokens!: TokenChecker;
  #keyArrived: (() => void) | undefined;
  #clientsTimer: NodeJS.Timeout | undefined;
  readonly #helloRules: HelloRules;
  readonly #clients = new Set<ServedConnection>();
  /** ACKs of handoffs adopted but not yet acknowledged to the broker (see #adopt). */
  readonly #unsentAcks = new Set<() => void>();
  #server: Server | undefined;
  #draining = false;
  #sweeper: NodeJS.Timeout | undefined;
  /** Large bodies' buffers, reused, for a service that gives each request back (ServiceHandler.releasesPayloads). */
  readonly #bodyPool: BodyPool | undefined;
  /** Offers adopted from Node's internal event, so that their 'message' is not a second adoption. */
  readonly #adoptedEarly = new WeakSet<object>();

  constructor(options: BackendOptions) {
    this.#options = options;
    this.#bodyPool = options.handler.releasesPayloads ? new BodyPool() : undefined;
    const { service } = options;
    // A reconnect Hello passes the broker's checks, with this backend's one service as the only one served.
    this.#helloRules = {
      services: [service],
      daemonVersion: QUIRE_VERSION,
      speaker: `the ${service} backend`,
      unlistedServiceCode: Refused_Code.PEER_REJECTED,
      unlistedServiceReason: (name) => `this socket serves "${service}", not "${name}"; say Hello to the broker`,
    };
  }

  async start(): Promise<void> {
    const { socketPath } = this.#options;
    if (process.platform !== "win32") {
      // The broker owns this directory and runs one backend per service: a socket left here is stale.
      try {
        unlinkSync(socketPath);
      } catch {}
    }
    // The key comes first: we ask once our listener is attached, so the answer cannot be missed.
    process.on("message", (message: unknown, handle: unknown) => {
      if (!this.#adoptedEarly.delete(message as object)) this.#onControl(message, handle as object | undefined);
    });
    // An offer is adopted as soon as Node has it: before Node's own acknowledgement of its handle goes
    // back on the channel (a write, and the broker woken, on the client's path), and a tick before
    // 'message'. 'internalMessage' is Node's internal event; where it is not, 'message' still brings the offer.
    process.prependListener("internalMessage" as "message", (wrapper: unknown, handle: unknown) => {
      const w = wrapper as { cmd?: unknown; msg?: unknown } | null;
      if (w?.cmd !== "NODE_HANDLE" || !handle || !isControlMessage(w.msg) || w.msg.t !== "offer") return;
      this.#adoptedEarly.add(w.msg);
      this.#onControl(w.msg, handle as object);
    });
    // Orphaned by a broker that died: finish as on a drain, so nothing the service started outlives us.
    process.on("disconnect", () => void this.#drain(this.#options.orphanGraceMs ?? ORPHAN_GRACE_MS));
    await new Promise<void>((resolve) => {
      this.#keyArrived = resolve;
      this.#tell({ t: "want-key" });
    });
    const server = createServer((socket) => this.#acceptReconnect(socket));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socketPath, () => {
        server.off("error", reject);
        resolve();
      });
    });
    if (process.platform !== "win32") chmodSync(socketPath, 0o600);
    this.#sweeper = setInterval(() => this.#tokens.sweep(), 5_000).unref();
    this.#tell({ t: "ready", socket: socketPath });
    this.#options.logger.log("info", "backend ready", { service: this.#options.service, socket: socketPath });
  }

  /**
   * The broker may be gone (SIGKILLed) before we have read its channel's EOF: a write then fails with
   * EPIPE, which without a callback is an 'error' on `process` and kills us before we drain. The
   * 'disconnect' that follows starts the drain, so a failed send needs nothing more.
   */
  #tell(message: BackendMessage): void {
    if (!process.connected) return;
    try {
      process.send!(message, ignoreSendError);
    } catch {}
  }

  #onControl(message: unknown, handle: object | undefined): void {
    if (!isControlMessage(message)) return;
    const m = message as BrokerMessage;
    switch (m.t) {
      case "key":
        if (this.#tokens) return;
        this.#tokens = new TokenChecker(fromBytes(m.key));
        return this.#keyArrived?.();
      case "offer":
        return this.#adopt(m, handle);
      case "drain":
        return void this.#drain(m.graceMs);
      case "ping":
        return this.#tell({ t: "pong", seq: m.seq });
    }
  }

  /**
   * The handoff: consume the token, adopt the connection (`handle`, the bare handle the broker passed),
   * say ready to the client, serve it, ACK the broker.
   */
  #adopt(m: Extract<BrokerMessage, { t: "offer" }>, handle: object | undefined): void {
    const receivedAt = marking ? process.hrtime.bigint() : 0n;
    let offer: HandoffOffer;
    try {
      offer = HandoffOffer.decode(fromBytes(m.offer));
    } catch {
      closeHandle(handle);
      return;
    }
    const handoffAck = (accepted: boolean, errorDetail: string) =>
      HandoffAck.encode({ token: offer.token, accepted, errorDetail, correlationId: offer.correlationId }).finish();
    const ackMessage = (ack: Uint8Array): BackendMessage => ({ t: "ack", ack: toBytes(ack) });
    // Refusing closes the connection without a word: that tells the client to take the reconnect path with
    // the same token, which stays unused whenever the handoff itself does not go through.
    const refuse = (why: string) => {
      closeHandle(handle);
      this.#tell(ackMessage(handoffAck(false, why)));
    };
    if (!handle) return refuse("no socket arrived with the offer");
    if (this.#draining) return refuse("backend is draining");
    if (Date.now() > m.deadline) return refuse("offer arrived after its deadline");
    const consumed = this.#tokens.consume(offer.token, this.#options.service);
    if (!consumed.ok) return refuse(`token ${consumed.reason}`);

    const ack = handoffAck(true, "");
    // The broker's ACK is kept off the client's path: it goes after the first read of the socket has been
    // handled (after whatever answers that turn wrote), or after a millisecond if no read comes.
    let acked = false;
    const sendAck = () => {
      if (acked) return;
      acked = true;
      clearTimeout(ackTimer);
      this.#unsentAcks.delete(sendAck);
      this.#tell(ackMessage(ack));
    };
    const ackTimer = setTimeout(sendAck, 1);
    this.#unsentAcks.add(sendAck);
    const decoder = new FrameDecoder({ maxFirstBodyBytes: MAX_FRAME_BODY_BYTES, bodyPool: this.#bodyPool });
    decoder.push(fromBytes(m.pending));
    let client: ServedConnection | undefined;
    const socket = socketReadingInto(handle, decoder, () => {
      client?.pump();
      if (!acked) setImmediate(sendAck);
    });
    // Ready is queued before anything is served, so the client sees Negotiated, ready, then responses; the
    // answers to requests that came with the offer (pipelined behind the Hello) leave in the same write.
    const ready = newFrame({ kind: Frame_Kind.EVENT, payloadProtocol: Lane.HANDOFF, payload: Buffer.from(ack) });
    client = this.#serve(socket, decoder, { readsIntoDecoder: true, first: ready });
    const readyAt = marking ? process.hrtime.bigint() : 0n;
    if (marking) {
      const id = String(offer.correlationId);
      handoffMark(id, "offer-received", receivedAt);
      handoffMark(id, "ready-written", readyAt);
      handoffMark(id, "serving");
    }
  }

  /** A client dialled our own socket: its first frame must be a Hello carrying a broker-minted token. */
  #acceptReconnect(socket: Socket): void {
    if (this.#draining) return void socket.destroy();
    const decoder = new FrameDecoder({ bodyPool: this.#bodyPool });
    const timer = setTimeout(() => socket.destroy(), this.#options.helloTimeoutMs ?? 5_000);
    const onData = (chunk: Buffer) => {
      decoder.push(chunk);
      const first = decoder.next();
      if (first === undefined) return;
      clearTimeout(timer);
      socket.off("data", onData);
      socket.pause();
      if (first instanceof WireError)
        return sendRefused(socket, 0n, refused(Refused_Code.UNSPECIFIED, first.message, { error: first.code }));
      if (first.payloadProtocol !== Lane.CONTROL || first.kind !== Frame_Kind.REQUEST) {
        return sendRefused(
          socket,
          first.requestId,
          refused(Refused_Code.PEER_REJECTED, "the first frame on a backend socket must be a Hello"),
        );
      }
      const { hello, refused: malformed } = decodeHello(first);
      if (malformed) return sendRefused(socket, first.requestId, malformed);
      const invalid = checkHello(hello, this.#helloRules);
      if (invalid) return sendRefused(socket, first.requestId, invalid);
      const consumed = this.#tokens.consume(hello.authToken, hello.serviceName);
      if (!consumed.ok && consumed.reason === "full") {
        return sendRefused(
          socket,
          first.requestId,
          refused(Refused_Code.RATE_LIMITED, "too many tokens used in their TTL; retry shortly", {}, 100),
        );
      }
      if (!consumed.ok) {
        return sendRefused(
          socket,
          first.requestId,
          refused(
            Refused_Code.PEER_REJECTED,
            `token ${consumed.reason}: tokens are good for one use within their TTL; say Hello to the broker for a new one`,
          ),
        );
      }
      // The write happens now, so the Negotiated goes out before anything served after it.
      void sendNegotiated(
        socket,
        first.requestId,
        negotiatedFor(hello, QUIRE_VERSION, {
          backendPipe: this.#options.socketPath,
          serverCapabilities: 0n,
          handlePassedToken: hello.authToken,
          connectionId: hello.connectionId,
        }),
      );
      this.#serve(socket, decoder);
      socket.resume();
      // After the client's answer: the broker only needs it to stop counting the token as in flight.
      this.#tell({ t: "token-used", id: consumed.id });
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  }

  /**
   * Serves a client; `readsIntoDecoder`: the socket reads into `decoder` itself (no 'data' events). `first`
   * is sent before anything served, and written at once with the answers to the frames `decoder` holds.
   */
  #serve(
    socket: Socket,
    decoder: FrameDecoder,
    { readsIntoDecoder = false, first }: { readsIntoDecoder?: boolean; first?: Frame } = {},
  ): ServedConnection {
    const client = new ServedConnection({
      socket,
      decoder,
      readsIntoDecoder,
      service: this.#options.service,
      handler: this.#options.handler,
      onClosed: (c) => {
        this.#clients.delete(c);
        this.#reportClients();
      },
    });
    this.#clients.add(client);
    if (first) client.send(first);
    client.start();
    if (first) client.flush();
    this.#reportClients();
    return client;
  }

  /**
   * Tells the broker how many clients we serve: at once after a quiet spell, else at most once per
   * CLIENTS_REPORT_MS, so a stream of connections does not put two IPC messages each on the channel that
   * carries the handoffs.
   */
  #reportClients(): void {
    if (this.#clientsTimer) return;
    this.#tell({ t: "clients", count: this.#clients.size });
    const reported = this.#clients.size;
    this.#clientsTimer = setTimeout(() => {
      this.#clientsTimer = undefined;
      if (this.#clients.size !== reported) this.#reportClients();
    }, CLIENTS_REPORT_MS).unref();
  }

  async #drain(graceMs: number): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    this.#server?.close();
    const work = this.#options.handler.drain?.() ?? Promise.resolve();
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      work.then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(resolve, graceMs, false))),
    ]);
    clearTimeout(timer);
    if (!done) await this.#killWhatIsLeft(graceMs);
    this.#exit("drained");
  }

  /**
   * The grace ran out (on a slow machine, before the service's own kill had even sent a signal its trees
   * cannot ignore): nothing the service started may outlive us, so it is killed outright, and we exit
   * only once it is gone.
   */
  async #killWhatIsLeft(graceMs: number): Promise<void> {
    const { logger, service } = this.#options;
    logger.log("warn", "drain grace ran out: killing what the service started", { service, graceMs });
    const survivors = await Subprocess.killAll();
    if (survivors > 0) logger.log("warn", "processes the backend may not signal outlive it", { service, survivors });
  }

  #exit(why: string): void {
    // A client adopted a moment ago was served: the broker must not count its handoff as failed.
    for (const sendAck of this.#unsentAcks) sendAck();
    for (const client of this.#clients)
      client.close(
        Refused_Code.SHUTTING_DOWN,
        `the ${this.#options.service} backend is shutting down; say Hello again to reach its successor`,
      );
    clearInterval(this.#sweeper);
    clearTimeout(this.#clientsTimer);
    this.#server?.close();
    this.#options.logger.log("info", "backend exiting", { service: this.#options.service, why });
    // Let the goodbye frames flush before the process ends.
    setImmediate(() => process.exit(0));
  }
}

function ignoreSendError(): void {}
