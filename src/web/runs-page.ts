// The runs page: an HTTP server on loopback whose every request passes the guard (src/web/guard.ts), and
// which reads runs from the ci service as any client does (it never opens the run store).
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import { join } from "node:path";
import type { Places } from "../core/places.js";
import { sendError, sendFailure, serveApi, type ApiParts } from "./api.js";
import { CiLink } from "./ci-link.js";
import { WebPortMismatchError } from "./errors.js";
import { ListFeed, RunFeeds } from "./feeds.js";
import { checkRequest, SECURITY_HEADERS } from "./guard.js";
import { lastPort, rememberPort } from "./last-port.js";
import { listenOnLoopback, type Listening } from "./listen.js";
import { exchangePage } from "./page-files.js";
import { staticFiles } from "./static-files.js";
import { pageToken } from "./token.js";

export interface PageAddress {
  url: string;
  port: number;
  token: string;
}

export class RunsPage {
  readonly #places: Places;
  readonly #ci: CiLink;
  readonly #list: ListFeed;
  readonly #runs: RunFeeds;
  #listening: Promise<{ listening: Listening; token: string }> | undefined;
  #parts: ApiParts | undefined;

  constructor(places: Places) {
    this.#places = places;
    this.#ci = new CiLink({ home: places.home, autostart: false, clientName: "quire-web" });
    this.#list = new ListFeed(this.#ci);
    this.#runs = new RunFeeds(this.#ci);
  }

  /** The file holding the token: in QUIRE_HOME (the data directory), 0600. */
  get tokenFile(): string {
    return join(this.#places.dataDir, "web.token");
  }

  /**
   * Serves the page if it is not yet (on `port`; 0: `configured`, else a free one) and says where. Asked
   * for another port than the one it is served on, it refuses (a page open in a browser stays where it is).
   */
  async open(port: number, configured: number | null): Promise<PageAddress> {
    if (!this.#listening) {
      const made = this.#listen(port || configured || 0);
      this.#listening = made;
      made.catch(() => {
        if (this.#listening === made) this.#listening = undefined;
      });
    }
    const { listening, token } = await this.#listening;
    const url = `http://127.0.0.1:${listening.port}/`;
    if (port !== 0 && port !== listening.port) throw new WebPortMismatchError(port, url);
    return { url, port: listening.port, token };
  }

  /** Why the backend must not stop for idleness: a browser is looking. */
  busy(): string | undefined {
    const n = this.#list.listeners + this.#runs.listeners;
    return n > 0 ? `${n} runs page stream${n === 1 ? "" : "s"} open` : undefined;
  }

  async close(): Promise<void> {
    this.#runs.stopAll();
    const listening = await this.#listening?.catch(() => undefined);
    await listening?.listening.close();
    await this.#ci.close();
  }

  async #listen(port: number): Promise<{ listening: Listening; token: string }> {
    const token = pageToken(this.tokenFile);
    this.#parts = { ci: this.#ci, list: this.#list, runs: this.#runs, files: staticFiles() };
    let bound = port;
    const handler: RequestListener = (request, response) => this.#serve(request, response, bound, token);
    const portFile = join(this.#places.dataDir, "web.port");
    const last = port === 0 ? lastPort(portFile) : undefined;
    // The port last served on, if it is free still; else a free one.
    const listening = await (last
      ? listenOnLoopback(handler, last).catch(() => listenOnLoopback(handler, 0))
      : listenOnLoopback(handler, port));
    bound = listening.port;
    rememberPort(portFile, bound);
    return { listening, token };
  }

  #serve(request: IncomingMessage, response: ServerResponse, port: number, token: string): void {
    const verdict = checkRequest(request, port, token);
    if (!verdict.allow) {
      if (verdict.status === 200) {
        const body = Buffer.from(exchangePage(verdict.location));
        response.writeHead(200, {
          ...SECURITY_HEADERS,
          "Content-Type": "text/html; charset=utf-8",
          "Content-Length": body.length,
          "Set-Cookie": verdict.cookie,
        });
        return void response.end(body);
      }
      return sendError(response, verdict.status, verdict.message);
    }
    serveApi(this.#parts!, request, response).catch((error: unknown) => sendFailure(response, error));
  }
}
