// Typed calls to the web service: where the runs page is served (quirectl ui).
import type { ErrorCode } from "../errors.js";
import { WebRequest, WebResponse } from "../gen/quire/v1/web.js";
import { WebErrorCode } from "../wire/error-codes.js";
import { Lane } from "../wire/lanes.js";
import { connect, type ConnectOptions } from "./connect.js";
import type { Connection } from "./connection.js";
import { ClientError } from "./errors.js";

/** The web service said no; `code` is its permanent error code. */
export class WebRequestError extends ClientError {}

/** Where the runs page is: `url` without the token, and the token a browser exchanges for its cookie. */
export interface RunsPageAddress {
  url: string;
  port: number;
  token: string;
}

export class WebClient {
  readonly #connection: Connection;

  constructor(connection: Connection) {
    this.#connection = connection;
  }

  static async connect(options: ConnectOptions = {}): Promise<WebClient> {
    return new WebClient(await connect("web", options));
  }

  /** Serves the page if it is not served yet (on `port`, else the configured one, else a free one) and says where. */
  async open(port = 0): Promise<RunsPageAddress> {
    const request = Buffer.from(WebRequest.encode(WebRequest.fromPartial({ open: { port } })).finish());
    const response = WebResponse.decode(await this.#connection.request(Lane.WEB, request));
    if (!response.ok) throw new WebRequestError((response.errorCode || WebErrorCode.FAILED) as ErrorCode, response.error);
    return { url: response.url, port: response.port, token: response.token };
  }

  close(): void {
    this.#connection.close();
  }
}
