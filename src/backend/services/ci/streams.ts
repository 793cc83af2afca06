// The requests that stream (watch, logs), by client and request id, so that a CANCEL or the client's
// close ends them.
import type { ServedConnection } from "../../served-connection.js";

export class Streams {
  readonly #byClient = new Map<ServedConnection, Map<bigint, () => void>>();

  /** Registers how to end a request's stream; returns what forgets it once the stream has ended by itself. */
  track(client: ServedConnection, requestId: bigint, end: () => void): () => void {
    let mine = this.#byClient.get(client);
    if (!mine) this.#byClient.set(client, (mine = new Map()));
    mine.set(requestId, end);
    return () => this.#forget(client, requestId, end);
  }

  /** Clients with a stream, and streams (watch, logs) open now. */
  held(): { stream_clients: number; streams: number } {
    let streams = 0;
    for (const mine of this.#byClient.values()) streams += mine.size;
    return { stream_clients: this.#byClient.size, streams };
  }

  /** A CANCEL: ends that request's stream, if it has one. */
  cancel(client: ServedConnection, requestId: bigint): void {
    const end = this.#byClient.get(client)?.get(requestId);
    if (!end) return;
    this.#forget(client, requestId, end);
    end();
  }

  // A client that keeps its connection open between streams holds nothing meanwhile.
  #forget(client: ServedConnection, requestId: bigint, end: () => void): void {
    const mine = this.#byClient.get(client);
    if (mine?.get(requestId) !== end) return;
    mine.delete(requestId);
    if (mine.size === 0) this.#byClient.delete(client);
  }

  /** The client has gone: ends every stream of its. */
  endAll(client: ServedConnection): void {
    for (const end of this.#byClient.get(client)?.values() ?? []) end();
    this.#byClient.delete(client);
  }
}
