// Typed calls to the ci service: submit a pipeline, read runs, watch them, follow their logs, cancel,
// keep secrets and annotate a live run from one of its steps.
import { randomUUID } from "node:crypto";
import {
  CiEvent,
  CiRequest,
  CiResponse,
  type CiAnnotation,
  type CiGcReport,
  type CiJob,
  type CiLogChunk,
  type CiPosition,
  type CiRun,
  type CiStep,
} from "../gen/quire/v1/ci.js";
import type { ErrorCode } from "../errors.js";
import { CiErrorCode } from "../wire/error-codes.js";
import { Lane } from "../wire/lanes.js";
import { connect, type ConnectOptions } from "./connect.js";
import type { Connection } from "./connection.js";
import { ClientError, ConnectionClosedError } from "./errors.js";
import { SUBMIT_TIMEOUT_MS, submitUntilAnswered } from "./submission.js";

export type { CiRun, CiJob, CiStep, CiAnnotation, CiLogChunk, CiPosition, CiGcReport };

/** The ci service said no; `code` is its permanent error code, `position` where a pipeline file is wrong. */
export class CiRequestError extends ClientError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly position: CiPosition | undefined,
  ) {
    super(code, message);
  }
}

export const TERMINAL_RUN_STATES: ReadonlySet<string> = new Set(["complete", "failed", "cancelled", "superseded"]);

export interface SubmitOptions {
  /** Instead of the file's git work tree and its branch. */
  repo?: string;
  ref?: string;
  /**
   * Names this submission (at most 128 characters; default: a random one per call). A submit with a key
   * the service recorded a run for, from any client, is answered with that run instead of a second one.
   */
  idempotencyKey?: string;
  /** The run is recorded within this long or not at all (default 5 minutes). */
  timeoutMs?: number;
  /** Only these jobs and what they need (names, or a workflow's job ids); default all. */
  jobs?: string[];
  /** Only the matrix legs holding these values. */
  matrix?: Record<string, string>;
  /** What asks for the run, recorded with it (`post-commit`, `watch`, ...; default `manual`). */
  trigger?: string;
  /** A full commit id: run that commit's tree instead of the working copy (`text` as the commit has it). */
  commit?: string;
  /** A desktop notification when the run ends: nobody waits on it. */
  notify?: boolean;
  /** Run every job, even one whose inputs match a job that completed before. */
  noCache?: boolean;
}

export class CiClient {
  #connection: Connection;
  /** How the connection was made, to make another when it is lost; none for a client made from a connection. */
  readonly #connectOptions: ConnectOptions | undefined;
  #reconnecting: Promise<Connection> | undefined;
  #closed = false;

  constructor(connection: Connection, connectOptions?: ConnectOptions) {
    this.#connection = connection;
    this.#connectOptions = connectOptions;
  }

  static async connect(options: ConnectOptions = {}): Promise<CiClient> {
    return new CiClient(await connect("ci", options), options);
  }

  /** The connection in use: after submit had to make a new one, that one. */
  get connection(): Connection {
    return this.#connection;
  }

  /**
   * Submits the pipeline in `file` (absolute path) whose text is `text`; resolves with the run recorded
   * for it. A connection lost on the way is replaced and the submit sent again with the same idempotency
   * key, so the run is recorded once. Rejects with CiRequestError when the service refused it (nothing was
   * recorded: QUIRE_ERR_CI_NOT_RECORDED when its deadline passed first), and with SubmitUnconfirmedError
   * only when no answer could be had at all.
   */
  async submit(file: string, text: string, options: SubmitOptions = {}): Promise<CiRun> {
    const submit = {
      file,
      text,
      repo: options.repo ?? "",
      ref: options.ref ?? "",
      idempotencyKey: options.idempotencyKey ?? randomUUID(),
      jobs: options.jobs ?? [],
      matrix: options.matrix ?? {},
      trigger: options.trigger ?? "",
      commit: options.commit ?? "",
      notify: options.notify ?? false,
      noCache: options.noCache ?? false,
    };
    const deadline = Date.now() + (options.timeoutMs ?? SUBMIT_TIMEOUT_MS);
    const link = { open: (timeoutMs: number) => this.#open(timeoutMs), closed: () => this.#closed };
    return check(await submitUntilAnswered(link, submit, deadline)).run!;
  }

  /** The connection in use or, once it has closed, a new one made as the first was (one for every caller waiting). */
  #open(timeoutMs: number): Promise<Connection> {
    if (!this.#connection.closed) return Promise.resolve(this.#connection);
    const options = this.#connectOptions;
    if (this.#closed || options === undefined)
      return Promise.reject(
        new ConnectionClosedError(this.#closed ? "the CiClient was closed" : "a CiClient made from a connection cannot make another"),
      );
    this.#reconnecting ??= connect("ci", { ...options, timeoutMs: Math.min(options.timeoutMs ?? 10_000, timeoutMs) }).then(
      (connection) => {
        this.#reconnecting = undefined;
        if (this.#closed) connection.close();
        else this.#connection = connection;
        return connection;
      },
      (error: unknown) => {
        this.#reconnecting = undefined;
        throw error;
      },
    );
    return this.#reconnecting;
  }

  async get(id: number | bigint): Promise<CiRun> {
    return (await this.call({ get: { id: BigInt(id) } })).run!;
  }

  /** Runs, newest first. */
  async list(limit = 0): Promise<CiRun[]> {
    return (await this.call({ list: { limit } })).runs;
  }

  /** Runs finished run `id`'s tree again (`failed`: only its failed and cancelled jobs and those that need them; `noCache`: no job from the job cache). */
  async rerun(id: number | bigint, options: { failed?: boolean; noCache?: boolean } = {}): Promise<CiRun> {
    return (await this.call({ rerun: { id: BigInt(id), failed: options.failed ?? false, noCache: options.noCache ?? false } })).run!;
  }

  /** Applies the daemon's retention limits now (`dryRun`: only says what that would remove). */
  async gc(options: { dryRun?: boolean } = {}): Promise<CiGcReport> {
    return (await this.call({ gc: { dryRun: options.dryRun ?? false } })).gc!;
  }

  async cancel(id: number | bigint): Promise<CiRun> {
    return (await this.call({ cancel: { id: BigInt(id) } })).run!;
  }

  /**
   * Calls `onUpdate` with the run now and as it changes (the service sends it at most every 20 ms while it
   * runs, so quick changes arrive together); resolves with the run once it has ended. Aborting `signal`
   * ends the watch (the promise rejects with the abort's reason).
   */
  watch(id: number | bigint, onUpdate: (run: CiRun) => void, options: { signal?: AbortSignal } = {}): Promise<CiRun> {
    return this.#stream({ watch: { id: BigInt(id) } }, (event) => event.run && onUpdate(event.run), options.signal);
  }

  /** The bytes of a run's step logs; with `follow`, until the run ends. Resolves with the run at the end. */
  logs(
    id: number | bigint,
    options: { job?: string; step?: string; follow?: boolean },
    onChunk: (chunk: CiLogChunk) => void,
  ): Promise<CiRun> {
    const request = { id: BigInt(id), job: options.job ?? "", step: options.step ?? "", follow: options.follow ?? false };
    return this.#stream({ logs: request }, (event) => event.log && onChunk(event.log));
  }

  /** A request answered by events, then by the run once it is over. */
  async #stream(request: CiRequest, onEvent: (event: CiEvent) => void, signal?: AbortSignal): Promise<CiRun> {
    const stream = this.connection.stream(Lane.CI, encode(request), (frame) => onEvent(CiEvent.decode(frame.payload)), { signal });
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
    this.#closed = true;
    this.#connection.close();
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
