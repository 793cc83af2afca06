// The runs page of a test daemon: where it is (through `quirectl ui`, as a person gets it) and raw HTTP
// requests to it with node's own client, so a test sends exactly the headers it means.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { eventually } from "./eventually.js";
import { quirectlJson } from "./quirectl.js";

export interface RunsPage {
  /** The URL `quirectl ui` prints: with the token. */
  url: string;
  port: number;
  token: string;
  /** The cookie a browser holds once it has been in. */
  cookie: string;
}

export async function runsPage(home: string): Promise<RunsPage> {
  const { url, port } = (await quirectlJson(home, ["ui", "--no-open"])) as { url: string; port: number };
  const token = new URL(url).searchParams.get("token")!;
  return { url, port, token, cookie: `quire_page=${token}` };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One request to 127.0.0.1:`port` (unless `host` says otherwise for the socket); headers as given, Host included. */
export function http(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string>; address?: string } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.address ?? "127.0.0.1",
        port,
        path,
        method: options.method ?? "GET",
        headers: { Host: `127.0.0.1:${port}`, ...options.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${path}: no answer in 30 s`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * Where the answer to a URL with the token sends the browser (its refresh), or undefined when it is not
 * that answer. The page holds nothing else: not the token.
 */
export function exchangedTo(answer: HttpAnswer): string | undefined {
  if (answer.status !== 200 || !answer.headers["set-cookie"]) return undefined;
  const target = /<meta http-equiv="refresh" content="0;url=([^"]*)">/.exec(answer.body.toString())?.[1];
  return target?.replace(/&#([0-9]+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

/**
 * An `xdg-open` in `bin` that writes down what it was asked to open, so a test sees what `quirectl ui`
 * hands the browser without starting one: put `bin` first on PATH, then await `opened()`.
 */
export function fakeOpener(bin: string): { opened(): Promise<string> } {
  const seen = join(bin, "opened");
  writeFileSync(join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s\\n' "$@" > '${seen}'\n`);
  chmodSync(join(bin, "xdg-open"), 0o755);
  return {
    opened: async () =>
      (await eventually(() => readFileSync(seen, { encoding: "utf8", flag: "a+" }).trim(), "xdg-open was started")).trim(),
  };
}
