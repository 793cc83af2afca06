// One Server-Sent Events answer. A browser that reads slower than events come is not queued for without
// bound: while its socket is backed up, only the latest event of each key is kept, and sent once it drains.
import type { ServerResponse } from "node:http";
import { SECURITY_HEADERS } from "./guard.js";

/** A comment line this often keeps proxies and the browser from taking a quiet stream for a dead one. */
const HEARTBEAT_MS = 15_000;

export class EventStream {
  readonly #response: ServerResponse;
  readonly #held = new Map<string, string>();
  readonly #heartbeat: NodeJS.Timeout;
  #closed = false;

  constructor(response: ServerResponse, onClose: () => void) {
    this.#response = response;
    response.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": "text/event-stream; charset=utf-8", Connection: "keep-alive" });
    response.write("retry: 1000\n\n");
    this.#heartbeat = setInterval(() => this.#write(": still here\n\n"), HEARTBEAT_MS);
    response.on("drain", () => this.#flush());
    response.on("close", () => {
      this.#closed = true;
      clearInterval(this.#heartbeat);
      onClose();
    });
  }

  /** Sends `data` (JSON) as event `event`; `key` names what a later event of the same key replaces while the browser is behind. */
  send(event: string, data: unknown, key = event): void {
    if (this.#closed) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    if (this.#response.writableNeedDrain) this.#held.set(key, text);
    else this.#write(text);
  }

  close(): void {
    this.#response.end();
  }

  #flush(): void {
    const held = [...this.#held.values()];
    this.#held.clear();
    for (const text of held) this.#write(text);
  }

  #write(text: string): void {
    if (!this.#closed) this.#response.write(text);
  }
}
