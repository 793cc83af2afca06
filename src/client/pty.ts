// Typed calls to the pty service: start, list, attach, tail, kill.
import { EventEmitter } from "node:events";
import { PtyEvent, PtyRequest, PtyResponse, type PtySession, type PtyStart } from "../gen/quire/v1/pty.js";
import type { ErrorCode } from "../errors.js";
import { PtyErrorCode } from "../wire/error-codes.js";
import { Lane } from "../wire/lanes.js";
import { connect, type ConnectOptions } from "./connect.js";
import type { Connection } from "./connection.js";
import { ClientError } from "./errors.js";

export type { PtySession };

/** The pty service said no; `code` is its permanent error code, one of PtyErrorCode (QUIRE_ERR_PTY_NO_SESSION, ...). */
export class PtyRequestError extends ClientError {}

/**
 * A client attached to a session. Events: `output` (Buffer), `writer` (boolean: whether this client is
 * the writer now), `exit` (PtySession), `close` (Error) when the connection ends.
 */
export class Attachment extends EventEmitter {
  readonly #endEvents: () => void;
  readonly #client: PtyClient;

  constructor(
    readonly name: string,
    readonly backlog: Buffer,
    public writer: boolean,
    readonly session: PtySession,
    endEvents: () => void,
    client: PtyClient,
  ) {
    super();
    this.#endEvents = endEvents;
    this.#client = client;
  }

  input(data: Buffer | string): Promise<void> {
    return this.#client.call({ input: { name: this.name, data: Buffer.from(data) } }).then(() => undefined);
  }

  resize(cols: number, rows: number): Promise<void> {
    return this.#client.call({ resize: { name: this.name, cols, rows } }).then(() => undefined);
  }

  async detach(): Promise<void> {
    this.#endEvents();
    await this.#client.call({ detach: { name: this.name } });
  }
}

export class PtyClient {
  readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  static async connect(options: ConnectOptions = {}): Promise<PtyClient> {
    return new PtyClient(await connect("pty", options));
  }

  async start(spec: Partial<PtyStart> & { name: string; file: string }): Promise<PtySession> {
    return (await this.call({ start: { args: [], cwd: "", env: {}, cols: 0, rows: 0, ...spec } })).session!;
  }

  async list(): Promise<PtySession[]> {
    return (await this.call({ list: {} })).sessions;
  }

  async kill(name: string): Promise<PtySession> {
    return (await this.call({ kill: { name } })).session!;
  }

  /** The recent output; with `follow`, `onOutput` gets what comes next until the command exits or `end()`. */
  async tail(
    name: string,
    follow: boolean,
    onOutput?: (data: Buffer) => void,
    onExit?: (session: PtySession) => void,
  ): Promise<{ backlog: Buffer; session: PtySession; end(): void }> {
    const stream = this.connection.stream(Lane.PTY, encode({ tail: { name, follow } }), (frame) => {
      const e = PtyEvent.decode(frame.payload);
      if (e.output) onOutput?.(e.output.data);
      if (e.exited) onExit?.(e.exited.session!);
    });
    const response = check(PtyResponse.decode(await stream.response));
    return { backlog: response.backlog, session: response.session!, end: stream.end };
  }

  async attach(name: string, options: { write?: boolean; takeover?: boolean; cols?: number; rows?: number } = {}): Promise<Attachment> {
    let attachment: Attachment | undefined;
    const early: PtyEvent[] = [];
    const deliver = (e: PtyEvent) => {
      if (e.output) attachment!.emit("output", e.output.data);
      if (e.writerChanged) {
        attachment!.writer = e.writerChanged.writer;
        attachment!.emit("writer", e.writerChanged.writer);
      }
      if (e.exited) attachment!.emit("exit", e.exited.session);
    };
    const request = {
      name,
      write: options.write ?? true,
      takeover: options.takeover ?? false,
      cols: options.cols ?? 0,
      rows: options.rows ?? 0,
    };
    const stream = this.connection.stream(Lane.PTY, encode({ attach: request }), (frame) => {
      const e = PtyEvent.decode(frame.payload);
      if (attachment) deliver(e);
      else early.push(e);
    });
    const response = check(PtyResponse.decode(await stream.response));
    attachment = new Attachment(name, response.backlog, response.writer, response.session!, stream.end, this);
    this.connection.once("close", (error) => attachment!.emit("close", error));
    // Events that came with the response go out once the caller has had its turn to listen.
    setImmediate(() => early.splice(0).forEach(deliver));
    return attachment;
  }

  /** One request, its response checked. */
  async call(request: PtyRequest): Promise<PtyResponse> {
    return check(PtyResponse.decode(await this.connection.request(Lane.PTY, encode(request))));
  }

  close(): void {
    this.connection.close();
  }
}

function encode(request: PtyRequest): Buffer {
  return Buffer.from(PtyRequest.encode(PtyRequest.fromPartial(request)).finish());
}

function check(response: PtyResponse): PtyResponse {
  // The code as the service sent it: a newer quired may send one this version's table does not have yet.
  if (!response.ok) throw new PtyRequestError((response.errorCode || PtyErrorCode.FAILED) as ErrorCode, response.error);
  return response;
}
