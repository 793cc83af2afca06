// The web backend's one connection to the ci service, made on first need and made again once it is lost
// (a ci backend that restarted, say): every caller gets the connection in use.
import { CiClient } from "../client/ci.js";
import type { ConnectOptions } from "../client/connect.js";

export class CiLink {
  readonly #options: ConnectOptions;
  #client: Promise<CiClient> | undefined;

  constructor(options: ConnectOptions) {
    this.#options = options;
  }

  async client(): Promise<CiClient> {
    const made = (this.#client ??= CiClient.connect(this.#options));
    let client: CiClient;
    try {
      client = await made;
    } catch (error) {
      if (this.#client === made) this.#client = undefined;
      throw error;
    }
    if (!client.connection.closed) return client;
    if (this.#client === made) this.#client = undefined;
    return this.client();
  }

  async close(): Promise<void> {
    (await this.#client?.catch(() => undefined))?.close();
    this.#client = undefined;
  }
}
