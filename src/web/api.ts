// The page's HTTP surface, once a request has passed the guard: its files, the runs as JSON, the event
// streams, step logs by byte range or followed, and cancel and re-run.
import type { IncomingMessage, ServerResponse } from "node:http";
import { CiRequestError } from "../client/ci.js";
import { CiErrorCode } from "../wire/error-codes.js";
import type { CiLink } from "./ci-link.js";
import { EventStream } from "./event-stream.js";
import type { ListFeed, RunFeeds } from "./feeds.js";
import { LIST_LIMIT } from "./feeds.js";
import { SECURITY_HEADERS } from "./guard.js";
import { runDetail, runSummary } from "./run-json.js";
import { PAGE_ROUTES, type StaticFile } from "./static-files.js";
import { followInto, isStepLive, readRange, stepOf, type LogRange } from "./step-log.js";

export interface ApiParts {
  ci: CiLink;
  list: ListFeed;
  runs: RunFeeds;
  files: Map<string, StaticFile>;
}

/** The most event streams and followed logs open at once, from every tab: each holds a socket and a ci watch. */
export const MAX_STREAMS = 64;

const RUN_PATH = /^\/api\/runs\/([0-9]{1,15})(\/[a-z]+)?$/;

export async function serveApi(parts: ApiParts, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const path = url.pathname;
  const method = request.method ?? "GET";
  const get = method === "GET" || method === "HEAD";
  if (get && PAGE_ROUTES.test(path)) return sendFile(response, parts.files.get("/")!);
  const file = parts.files.get(path);
  if (get && file && path !== "/") return sendFile(response, file);
  if (get && path === "/api/runs") return sendJson(response, 200, (await (await parts.ci.client()).list(LIST_LIMIT)).map(runSummary));
  if (get && path === "/api/runs/events") {
    if (full(parts)) return sendFull(response);
    const stream = new EventStream(response, () => leave());
    const leave = parts.list.add(stream);
    return;
  }
  const match = RUN_PATH.exec(path);
  if (!match) return sendError(response, get ? 404 : 405, "no such page");
  const id = Number(match[1]);
  const what = match[2] ?? "";
  if (get && what === "") return sendJson(response, 200, runDetail(await (await parts.ci.client()).get(id)));
  if (get && what === "/events") {
    if (full(parts)) return sendFull(response);
    const stream = new EventStream(response, () => leave());
    const leave = parts.runs.stream(id, stream);
    return;
  }
  if (get && what === "/log") return serveLog(parts, id, url.searchParams, request, response);
  if (method === "POST" && what === "/cancel") return sendJson(response, 200, runSummary(await (await parts.ci.client()).cancel(id)));
  if (method === "POST" && what === "/rerun") return sendJson(response, 200, runSummary(await (await parts.ci.client()).rerun(id)));
  return sendError(response, get ? 404 : 405, "no such page");
}

/**
 * `job`, `step` (its place in the job) and either `tail` (the last bytes), `from` and `to`, or `from` and
 * `follow=1` (the bytes from there on, as the step writes them, until it ends). `X-Log-Size` says how long
 * the log is now, `X-Log-From` where the bytes sent start, `X-Log-Live` whether the step still runs.
 */
async function serveLog(parts: ApiParts, id: number, query: URLSearchParams, request: IncomingMessage, response: ServerResponse) {
  if (query.get("follow") === "1" && full(parts)) return sendFull(response);
  const job = query.get("job") ?? "";
  const index = whole(query.get("step"));
  const run = await (await parts.ci.client()).get(id);
  const step = index === undefined ? undefined : stepOf(run, job, index);
  if (index === undefined || !step)
    return sendError(response, 404, `run ${id} has no step ${query.get("step")} in job ${JSON.stringify(job)}`);
  const headers = { ...SECURITY_HEADERS, "Content-Type": "application/octet-stream" };
  if (query.get("follow") === "1") {
    const from = whole(query.get("from")) ?? 0;
    const abort = new AbortController();
    let latest = run;
    const leave = parts.runs.listen(id, (now) => now && (latest = now));
    response.on("close", () => abort.abort());
    response.writeHead(200, { ...headers, "X-Log-From": String(from), "X-Log-Live": String(isStepLive(run, job, index)) });
    try {
      await followInto(response, step.log, from, () => isStepLive(latest, job, index), abort.signal);
    } finally {
      leave();
      response.end();
    }
    return;
  }
  const tail = whole(query.get("tail"));
  const range: LogRange = tail !== undefined ? { tail } : { from: whole(query.get("from")) ?? 0, to: whole(query.get("to")) ?? Infinity };
  const { bytes, from, size } = await readRange(step.log, range);
  response.writeHead(200, {
    ...headers,
    "Content-Length": bytes.length,
    "X-Log-From": String(from),
    "X-Log-Size": String(size),
    "X-Log-Live": String(isStepLive(run, job, index)),
  });
  response.end(request.method === "HEAD" ? undefined : bytes);
}

/** As many streams are open as may be (the list's, the runs', followed logs: each listens to a run feed). */
function full(parts: ApiParts): boolean {
  return parts.list.listeners + parts.runs.listeners >= MAX_STREAMS;
}

function sendFull(response: ServerResponse): void {
  sendError(response, 503, `the runs page has ${MAX_STREAMS} live streams open already; close a tab of it and reload this one`);
}

function whole(text: string | null): number | undefined {
  return text !== null && /^[0-9]{1,15}$/.test(text) ? Number(text) : undefined;
}

function sendFile(response: ServerResponse, file: StaticFile): void {
  response.writeHead(200, { ...SECURITY_HEADERS, "Content-Type": file.type, "Content-Length": file.body.length });
  response.end(file.body);
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value));
  response.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": "application/json; charset=utf-8", "Content-Length": body.length });
  response.end(body);
}

export function sendError(response: ServerResponse, status: number, message: string, code?: string): void {
  if (response.headersSent) return void response.destroy();
  sendJson(response, status, { error: message, code: code ?? null });
}

/** A failure of the ci service as an answer: an unknown run is 404, a refusal 409, anything else 502. */
export function sendFailure(response: ServerResponse, error: unknown): void {
  if (error instanceof CiRequestError) {
    const status = error.code === CiErrorCode.RUN_NOT_FOUND ? 404 : error.code === CiErrorCode.INTERNAL ? 502 : 409;
    return sendError(response, status, error.message, error.code);
  }
  sendError(response, 502, `the ci service could not be asked: ${(error as Error).message}`);
}
