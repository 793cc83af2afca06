// pty: long-lived commands in pseudo-terminals, like a small tmux. Commands belong to this backend, not
// to the client that started them, so they outlive it; clients attach (one writer at a time, with explicit
// takeover), tail the recent backlog, and kill.
import { Frame_Kind, type Frame } from "../../gen/quire/v1/frame.js";
import { Refused_Code } from "../../gen/quire/v1/hello.js";
import { PtyEvent, PtyRequest, PtyResponse, type PtySession } from "../../gen/quire/v1/pty.js";
import { OutputCapture } from "../../runtime/output.js";
import { spawn, type Subprocess, type RunResult } from "../../runtime/index.js";
import { newFrame } from "../../wire/framing.js";
import { PtyErrorCode } from "../../wire/error-codes.js";
import { Lane } from "../../wire/lanes.js";
import {
  PtyExitedError,
  PtyInvalidNameError,
  PtyNameTakenError,
  PtyNoCommandError,
  PtyNoSessionError,
  PtyNotWriterError,
  PtyUnknownOpError,
} from "../errors.js";
import type { ServedConnection } from "../served-connection.js";
import type { Service } from "./service.js";

const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** Recent output a late attacher is shown. */
const BACKLOG_BYTES = 256 * 1024;
/** A client this far behind on output is detached rather than buffered for without end. */
const SLOW_CLIENT_BYTES = 8 * 1024 * 1024;

interface Subscription {
  client: ServedConnection;
  requestId: bigint;
}

class Session {
  readonly backlog = new OutputCapture(BACKLOG_BYTES, 0);
  readonly subscribers: Subscription[] = [];
  writer: ServedConnection | undefined;
  result: RunResult | undefined;
  exitedAt = 0;
  readonly startedAt = Date.now();

  constructor(
    readonly name: string,
    readonly handle: Subprocess,
    readonly command: string[],
    readonly cwd: string,
    public cols: number,
    public rows: number,
  ) {}

  describe(): PtySession {
    const r = this.result;
    return {
      name: this.name,
      pid: this.handle.pid,
      state: r ? "exited" : "running",
      command: this.command,
      cwd: this.cwd,
      startedUnixMs: BigInt(this.startedAt),
      exitedUnixMs: BigInt(this.exitedAt),
      hasExitCode: r !== undefined && r.exitCode !== null,
      exitCode: r?.exitCode ?? 0,
      signal: r?.signal ?? "",
      clients: new Set(this.subscribers.map((s) => s.client)).size,
      hasWriter: this.writer !== undefined,
      outputBytes: BigInt(this.backlog.totalBytes),
      cols: this.cols,
      rows: this.rows,
    };
  }
}

export function createPtyService(): Service {
  const sessions = new Map<string, Session>();
  /** Output of every session since the backend started, for metrics. */
  let outputBytes = 0;

  const find = (name: string): Session => {
    const session = sessions.get(name);
    if (!session) throw new PtyNoSessionError(name);
    return session;
  };

  const event = (sub: Subscription, e: PtyEvent) => {
    sub.client.send(
      newFrame({
        kind: Frame_Kind.EVENT,
        payloadProtocol: Lane.PTY,
        requestId: sub.requestId,
        payload: Buffer.from(PtyEvent.encode(e).finish()),
      }),
    );
  };

  const unsubscribe = (session: Session, client: ServedConnection, requestId?: bigint) => {
    for (let i = session.subscribers.length - 1; i >= 0; i--) {
      const sub = session.subscribers[i]!;
      if (sub.client === client && (requestId === undefined || sub.requestId === requestId)) session.subscribers.splice(i, 1);
    }
    if (session.writer === client && !session.subscribers.some((s) => s.client === client)) session.writer = undefined;
  };

  const start = (req: NonNullable<PtyRequest["start"]>): PtyResponse => {
    if (!NAME.test(req.name)) throw new PtyInvalidNameError(req.name);
    const existing = sessions.get(req.name);
    if (existing && !existing.result) throw new PtyNameTakenError(req.name);
    if (!req.file) throw new PtyNoCommandError();
    const cols = req.cols || 80;
    const rows = req.rows || 24;
    const cwd = req.cwd || process.env.HOME || "/";
    // The session keeps its own backlog; the handle's in-memory copy of the output is not needed.
    const handle = spawn(req.file, req.args, { cwd, env: req.env, cols, rows, maxOutputBytes: 1 });
    const session = new Session(req.name, handle, [req.file, ...req.args], cwd, cols, rows);
    sessions.set(req.name, session);
    handle.on("data", (chunk: Buffer) => {
      outputBytes += chunk.length;
      session.backlog.append(chunk);
      for (const sub of [...session.subscribers]) {
        if (sub.client.pendingBytes > SLOW_CLIENT_BYTES) {
          unsubscribe(session, sub.client);
          sub.client.close(
            Refused_Code.UNSPECIFIED,
            `detached from "${session.name}": this client fell ${SLOW_CLIENT_BYTES >> 20} MiB behind its output`,
          );
          continue;
        }
        event(sub, { output: { name: session.name, data: chunk } });
      }
    });
    handle.on("exit", (result: RunResult) => {
      session.result = result;
      session.exitedAt = Date.now();
      session.writer = undefined;
      for (const sub of session.subscribers.splice(0)) event(sub, { exited: { session: session.describe() } });
    });
    return PtyResponse.fromPartial({ ok: true, session: session.describe() });
  };

  const attach = (req: NonNullable<PtyRequest["attach"]>, client: ServedConnection, requestId: bigint): PtyResponse => {
    const session = find(req.name);
    if (session.result) throw new PtyExitedError(req.name, `quirectl tail ${req.name} shows its last output`);
    session.subscribers.push({ client, requestId });
    let writer = false;
    if (req.write && (session.writer === undefined || session.writer === client || req.takeover)) {
      const previous = session.writer;
      session.writer = client;
      writer = true;
      if (previous && previous !== client) {
        for (const sub of session.subscribers)
          if (sub.client === previous) event(sub, { writerChanged: { name: session.name, writer: false } });
      }
      if (req.cols && req.rows) resize(session, req.cols, req.rows);
    }
    return PtyResponse.fromPartial({ ok: true, session: session.describe(), backlog: session.backlog.tail(), writer });
  };

  const resize = (session: Session, cols: number, rows: number) => {
    session.cols = cols;
    session.rows = rows;
    session.handle.resize(cols, rows);
  };

  const asWriter = (name: string, client: ServedConnection): Session => {
    const session = find(name);
    if (session.result) throw new PtyExitedError(name);
    if (session.writer !== client) throw new PtyNotWriterError(name);
    return session;
  };

  const handle = async (frame: Frame, client: ServedConnection): Promise<PtyResponse> => {
    const req = PtyRequest.decode(frame.payload);
    if (req.start) return start(req.start);
    if (req.list) return PtyResponse.fromPartial({ ok: true, sessions: [...sessions.values()].map((s) => s.describe()) });
    if (req.attach) return attach(req.attach, client, frame.requestId);
    if (req.input) {
      await asWriter(req.input.name, client).handle.write(req.input.data);
      return PtyResponse.fromPartial({ ok: true });
    }
    if (req.resize) {
      resize(asWriter(req.resize.name, client), req.resize.cols || 80, req.resize.rows || 24);
      return PtyResponse.fromPartial({ ok: true });
    }
    if (req.detach) {
      unsubscribe(find(req.detach.name), client);
      return PtyResponse.fromPartial({ ok: true });
    }
    if (req.tail) {
      const session = find(req.tail.name);
      if (req.tail.follow && !session.result) session.subscribers.push({ client, requestId: frame.requestId });
      return PtyResponse.fromPartial({ ok: true, session: session.describe(), backlog: session.backlog.tail() });
    }
    if (req.kill) {
      const session = find(req.kill.name);
      if (!session.result) await session.handle.kill();
      sessions.delete(session.name);
      return PtyResponse.fromPartial({ ok: true, session: session.describe() });
    }
    throw new PtyUnknownOpError();
  };

  return {
    metrics() {
      const running = [...sessions.values()].filter((s) => !s.result).length;
      return [
        {
          name: "quire_pty_sessions",
          help: "Sessions the pty backend holds, by state",
          type: "gauge",
          samples: [
            { labels: { state: "running" }, value: running },
            { labels: { state: "exited" }, value: sessions.size - running },
          ],
        },
        {
          name: "quire_pty_output_bytes_total",
          help: "Bytes of output from sessions since the backend started",
          type: "counter",
          samples: [{ labels: {}, value: outputBytes }],
        },
      ];
    },
    busy: () => (sessions.size > 0 ? `${sessions.size} session${sessions.size === 1 ? "" : "s"}` : undefined),
    onFrame(frame, client) {
      if (frame.kind === Frame_Kind.CANCEL) {
        for (const session of sessions.values()) unsubscribe(session, client, frame.requestId);
        return;
      }
      handle(frame, client).then(
        (response) => client.respond(frame, PtyResponse.encode(response).finish()),
        (error: Error & { code?: string }) =>
          client.respond(
            frame,
            PtyResponse.encode(
              PtyResponse.fromPartial({ ok: false, error: error.message, errorCode: error.code ?? PtyErrorCode.FAILED }),
            ).finish(),
          ),
      );
    },
    onClose(client) {
      for (const session of sessions.values()) unsubscribe(session, client);
    },
    async drain() {
      await Promise.all([...sessions.values()].filter((s) => !s.result).map((s) => s.handle.kill()));
    },
  };
}
