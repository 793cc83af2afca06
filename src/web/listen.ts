// Listening on loopback only, on both 127.0.0.1 and ::1 with one port number: a browser resolving
// `localhost` to either finds the page, and no other interface can reach it.
import { createServer, type RequestListener, type Server } from "node:http";
import { WebPortUnavailableError } from "./errors.js";

/** A free port may be free on 127.0.0.1 and taken on ::1: try a few before giving up. */
const FREE_PORT_TRIES = 5;
/** Errors that mean the machine has no IPv6 loopback; then 127.0.0.1 alone serves. */
const NO_IPV6 = new Set(["EADDRNOTAVAIL", "EAFNOSUPPORT", "EPROTONOSUPPORT"]);

export interface Listening {
  port: number;
  close(): Promise<void>;
}

export async function listenOnLoopback(handler: RequestListener, port: number): Promise<Listening> {
  for (let attempt = 1; ; attempt++) {
    const v4 = await listen(handler, port, "127.0.0.1").catch((error: unknown) => {
      throw new WebPortUnavailableError(port, error);
    });
    const chosen = (v4.address() as { port: number }).port;
    try {
      const v6 = await listen(handler, chosen, "::1").catch((error: NodeJS.ErrnoException) => {
        if (NO_IPV6.has(error.code ?? "")) return undefined;
        throw error;
      });
      const servers = v6 ? [v4, v6] : [v4];
      return { port: chosen, close: () => Promise.all(servers.map(closeServer)).then(() => undefined) };
    } catch (error) {
      await closeServer(v4);
      if (port !== 0 || attempt === FREE_PORT_TRIES) throw new WebPortUnavailableError(chosen, error);
    }
  }
}

function listen(handler: RequestListener, port: number, host: string): Promise<Server> {
  const server = createServer(handler);
  // A slow or silent peer is not kept for ever (event streams are answers, which this does not bound).
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, exclusive: true }, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
