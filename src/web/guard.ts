// Who may use the runs page, checked on every request before anything is served: the Host must be the
// loopback name and port (a DNS-rebinding page reaches us under its own name), anything that changes
// something must come from the page's own origin, and the request must carry the token (the cookie, or
// once, in the URL the CLI opened, which is exchanged for the cookie and cleaned).
import type { IncomingMessage } from "node:http";
import { sameToken } from "./token.js";

export const COOKIE_NAME = "quire_page";

export type Verdict =
  | { allow: true }
  /**
   * The token came in the URL: set the cookie and send the browser to the same place without it, from a
   * page of this origin (exchangePage): a redirect would keep the navigation the launcher file began,
   * cross-site, and the browser would not send the SameSite=Strict cookie on it.
   */
  | { allow: false; status: 200; location: string; cookie: string }
  | { allow: false; status: 400 | 401 | 403 | 421; message: string };

/** The names the page answers to: anything else is a page on another name that resolved to us. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `[::1]:${port}`, `localhost:${port}`];
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);
/**
 * A path (origin-form), and not one starting with `//` or `/\`, which URL parsing reads as another host:
 * an absolute-form target (`GET http://evil/`) names the host in place of the Host header, unchecked.
 */
const PATH_TARGET = /^\/(?![/\\])/;

export function checkRequest(request: IncomingMessage, port: number, token: string): Verdict {
  const hosts = allowedHosts(port);
  const host = request.headers.host;
  if (host === undefined || !hosts.includes(host.toLowerCase()))
    return { allow: false, status: 421, message: `this page is served as ${hosts.join(", ")} only` };
  if (!PATH_TARGET.test(request.url ?? ""))
    return { allow: false, status: 400, message: "ask for a path of this page, as in GET /api/runs" };
  if (!SAFE_METHODS.has(request.method ?? "")) {
    // No Origin is refused too: every browser sends one with a POST, and the page sends nothing else.
    const origin = request.headers.origin;
    if (origin === undefined || !hosts.some((h) => origin.toLowerCase() === `http://${h}`))
      return { allow: false, status: 403, message: "a change must come from the runs page itself" };
  }
  const hasCookie = sameToken(cookieOf(request, COOKIE_NAME), token);
  const url = new URL(request.url ?? "/", "http://localhost");
  const given = url.searchParams.get("token");
  // A token in the URL never stays there (history, a copied link): the browser is sent on without it.
  if (given !== null && SAFE_METHODS.has(request.method ?? "") && (hasCookie || sameToken(given, token))) {
    url.searchParams.delete("token");
    return {
      allow: false,
      status: 200,
      // One leading slash: `//name` in a Location is another site (a target like /x/..//name ends so).
      location: `${url.pathname.replace(/^\/+/, "/")}${url.search}`,
      cookie: `${COOKIE_NAME}=${token}; HttpOnly; SameSite=Strict; Path=/`,
    };
  }
  if (hasCookie) return { allow: true };
  return { allow: false, status: 401, message: "open the runs page with the URL `quirectl ui` prints" };
}

function cookieOf(request: IncomingMessage, name: string): string | undefined {
  for (const part of (request.headers.cookie ?? "").split(";")) {
    const [key, ...value] = part.trim().split("=");
    if (key === name) return value.join("=");
  }
  return undefined;
}

/**
 * Sent with every answer: scripts from this server only (no inline script, no eval), no framing, no
 * sniffing, no referrer (the URL may carry the token), nothing shared with other origins. Styles may be
 * inline: xterm.js sizes and colours its rows with <style> elements it makes; the page itself puts no
 * data into a style, and a style cannot run script.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
  "Cache-Control": "no-store",
};
