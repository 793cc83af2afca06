// The Turborepo remote cache HTTP API, as turbo's client speaks it and turborepo-remote-cache (or Vercel)
// serves it: `GET`, `HEAD` and `PUT /v8/artifacts/<hash>?teamId=<team>`, `Authorization: Bearer <token>`,
// bodies `application/octet-stream`, the signature in `x-artifact-tag`. 404 is a miss; every other failure
// is a RemoteCacheError naming what happened. Each call is bounded by its signal: a slow server costs the
// run that long at most.
import {
  RemoteArtifactCorruptError,
  RemoteCacheDeniedError,
  RemoteCacheStatusError,
  RemoteCacheError,
  RemoteCacheUnreachableError,
} from "../errors.js";
import type { RemoteCache } from "../pipeline/model.js";
import { REMOTE_ARTIFACT_MAX_BYTES } from "../rules.js";

export interface Downloaded {
  bytes: Buffer;
  /** The `x-artifact-tag` the server keeps with it; null without one. */
  tag: string | null;
}

export class RemoteCacheClient {
  readonly #config: RemoteCache;
  readonly #token: string;

  constructor(config: RemoteCache, token: string) {
    this.#config = config;
    this.#token = token;
  }

  /** The artifact of `hash`, or undefined when the server has none. */
  async get(hash: string, signal: AbortSignal): Promise<Downloaded | undefined> {
    const response = await this.#request("GET", hash, signal);
    if (response === undefined) return undefined;
    const length = Number(response.headers.get("content-length") ?? 0);
    if (length > REMOTE_ARTIFACT_MAX_BYTES) {
      await response.body?.cancel();
      throw new RemoteArtifactCorruptError(hash, `it is ${length} bytes, over the ${REMOTE_ARTIFACT_MAX_BYTES} an artifact may have`);
    }
    const bytes = await this.#guard(() => bodyOf(response, hash), signal);
    return { bytes, tag: response.headers.get("x-artifact-tag") };
  }

  /** Whether the server has an artifact of `hash`. */
  async has(hash: string, signal: AbortSignal): Promise<boolean> {
    const response = await this.#request("HEAD", hash, signal);
    return response !== undefined;
  }

  /** Stores `bytes` as the artifact of `hash`, with its signature when there is one. */
  async put(hash: string, bytes: Buffer, tag: string | null, signal: AbortSignal): Promise<void> {
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (tag !== null) headers["x-artifact-tag"] = tag;
    const response = await this.#request("PUT", hash, signal, { headers, body: bytes });
    if (response === undefined) throw new RemoteCacheStatusError(this.#config.url, 404);
    await response.body?.cancel();
  }

  /** The server's answer when it is a success; undefined for a 404; a RemoteCacheError otherwise. */
  async #request(
    method: "GET" | "HEAD" | "PUT",
    hash: string,
    signal: AbortSignal,
    init: { headers?: Record<string, string>; body?: Buffer } = {},
  ): Promise<Response | undefined> {
    const url = `${this.#config.url}/v8/artifacts/${hash}?teamId=${encodeURIComponent(this.#config.team)}`;
    const response = await this.#guard(
      () =>
        fetch(url, {
          method,
          headers: { authorization: `Bearer ${this.#token}`, ...init.headers },
          body: init.body,
          signal,
          redirect: "follow",
        }),
      signal,
    );
    if (response.ok) return response;
    await response.body?.cancel().catch(() => {});
    if (response.status === 404) return undefined;
    if (response.status === 401 || response.status === 403) throw new RemoteCacheDeniedError(this.#config.url, response.status);
    throw new RemoteCacheStatusError(this.#config.url, response.status);
  }

  /** `work`, with fetch's failures (refused, reset, timed out) as RemoteCacheUnreachableError. */
  async #guard<T>(work: () => Promise<T>, signal: AbortSignal): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof RemoteCacheError) throw error;
      const why = signal.aborted
        ? `no answer within ${this.#config.timeoutMs} ms`
        : (((error as Error).cause as NodeJS.ErrnoException | undefined)?.code ?? (error as Error).message);
      throw new RemoteCacheUnreachableError(this.#config.url, why, error);
    }
  }
}

/** The response's body, read no further than an artifact may go (a body without a length may never end). */
async function bodyOf(response: Response, hash: string): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of response.body ?? []) {
    length += chunk.length;
    if (length > REMOTE_ARTIFACT_MAX_BYTES) {
      await response.body?.cancel().catch(() => {});
      throw new RemoteArtifactCorruptError(hash, `it is over the ${REMOTE_ARTIFACT_MAX_BYTES} bytes an artifact may have`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, length);
}
