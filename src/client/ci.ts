// Typed calls to the ci service: submit a pipeline, read runs, watch them, follow their logs, cancel,
// keep secrets and annotate a live run from one of its steps.
import { CiEvent, CiRequest, CiResponse, type CiLogChunk, type CiPosition, type CiRun } from "../gen/quire/v1/ci.js";
import type { ErrorCode } from "../errors.js";
import { CiErrorCode } from "../wire/error-codes.js";
import { Lane } from "../wire/lanes.js";
import { connect, type ConnectOptions } from "./connect.js";
import type { Connection } from "./connection.js";
import { ClientError } from "./errors.js";

export type { CiRun, CiLogChunk, CiPosition };

/** The ci service said no; `code` is its permanent error code, `position` where a pipeline file is wrong. */
export class CiRequestError extends ClientError {
  constructor(code: ErrorCode, message: string, readonly position: CiPosition | undefined) {
    super(code, message);
  }
}

export const TERMINAL_RUN_STATES: ReadonlySet<string> = new Set(["complete", "failed", "cancelled", "superseded"]);

export class CiClient {
  readonly connection: Connection;

  constructor(connection: Connection) {
    this.connection = connection;
  }

  static async connect(options: ConnectOptions = {}): Promise<CiClient> {
    return new CiClient(await connect("ci", options));
  }

  /** Submits the pipeline in `file` (absolute path) whose text is `text`; resolves with the new run. */
  async submit(file: string, text: string, options: { repo?: string; ref?: string } = {}): Promise<CiRun> {
    return (await this.call({ submit: { file, text, repo: options.repo ?? "", ref: options.ref ?? "" } })).run!;
  }

  async get(id: number | bigint): Promise<CiRun> {
    return (await this.call({ get: { id: BigInt(id) } })).run!;
  }

  /** Runs, newest first. */
  async list(limit = 0): Promise<CiRun[]> {
    return (await this.call({ list: { limit } })).runs;
  }

  async cancel(id: number | bigint): Promise<CiRun> {
    return (await this.call({ cancel: { id: BigInt(id) } })).run!;
  }

  /**
   * Calls `onUpdate` with the run now and as it changes (the service sends it at most every 20 ms while it
   * runs, so quick changes arrive together); resolves with the run once it has ended.
   */
  watch(id: number | bigint, onUpdate: (run: CiRun) => void): Promise<CiRun> {
    return this.#stream({ watch: { id: BigInt(id) } }, (event) => event.run && onUpdate(event.run));
  }

  /** The bytes of a run's step logs; with `follow`, until the run ends. Resolves with the run at the end. */
  logs(id: number | bigint, options: { job?: string; step?: string; follow?: boolean }, onChunk: (chunk: CiLogChunk) => void): Promise<CiRun> {
    const request = { id: BigInt(id), job: options.job ?? "", step: options.step ?? "", follow: options.follow ?? false };
    return this.#stream({ logs: request }, (event) => event.log && onChunk(event.log));
  }

  /** A request answered by events, then by the run once it is over. */
  async #stream(request: CiRequest, onEvent: (event: CiEvent) => void): Promise<CiRun> {
    const stream = this.connection.stream(Lane.CI, encode(request), (frame) => onEvent(CiEvent.decode(frame.payload)));
    try {
      return check(CiResponse.decode(await stream.response)).run!;
    } finally {
      stream.end();
    }
  }

  async setSecret(name: string, value: string): Promise<void> {
    await this.call({ secretSet: { name, value } });
  }

  async secretNames(): Promise<string[]> {
    return (await this.call({ secretList: {} })).secretNames;
  }

  async removeSecret(name: string): Promise<void> {
    await this.call({ secretRemove: { name } });
  }

  /** From a step: `token` is its QUIRE_RUN_TOKEN, which says the run, job and step. */
  async annotate(token: Buffer, text: string): Promise<void> {
    await this.call({ annotate: { token, text } });
  }

  /** One request, its response checked. */
  async call(request: CiRequest): Promise<CiResponse> {
    return check(CiResponse.decode(await this.connection.request(Lane.CI, encode(request))));
  }

  close(): void {
    this.connection.close();
  }
}

function encode(request: CiRequest): Buffer {
  return Buffer.from(CiRequest.encode(CiRequest.fromPartial(request)).finish());
}

function check(response: CiResponse): CiResponse {
  // The code as the service sent it: a newer quired may send one this version's table does not have yet.
  if (!response.ok) throw new CiRequestError((response.errorCode || CiErrorCode.FAILED) as ErrorCode, response.error, response.position);
  return response;
}
