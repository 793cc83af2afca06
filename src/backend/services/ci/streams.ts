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
    return () => mine.delete(requestId);
  }

  /** A CANCEL: ends that request's stream, if it has one. */
  cancel(client: ServedConnection, requestId: bigint): void {
    this.#byClient.get(client)?.get(requestId)?.();
  }

  /** The client has gone: ends every stream of its. */
  endAll(client: ServedConnection): void {
    for (const end of this.#byClient.get(client)?.values() ?? []) end();
    this.#byClient.delete(client);
  }
}
