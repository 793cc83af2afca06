// quirectl ui [--port N] [--no-open]: the runs page. The web backend serves it (once; a second ui finds
// the same page) and says where; this prints the URL and opens it in the default browser.
import { spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { resolvePlaces } from "../core/places.js";
import { WebClient } from "../client/web.js";
import { ArgumentError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { daemonArgs, type GlobalArgs } from "./global-args.js";
import { printError, printJson, println } from "./output.js";

export interface UiArgs extends GlobalArgs {
  port?: string;
  /** `--no-open` (yargs' negation of --open): print the URL only. */
  open: boolean;
}

export async function ui(args: UiArgs): Promise<number> {
  const port = args.port === undefined ? 0 : portNumber(args.port);
  const web = await WebClient.connect({ home: args.home, daemonArgs: daemonArgs(args) });
  let address: Awaited<ReturnType<WebClient["open"]>>;
  try {
    address = await web.open(port);
  } finally {
    web.close();
  }
  const url = `${address.url}?token=${address.token}`;
  if (args.json) printJson({ url, port: address.port });
  else println(url);
  if (args.open) {
    const why = await openInBrowser(launcherPage(args.home, url));
    if (why) printError(`${why}; open the URL above in a browser`);
  }
  return ExitCode.Ok;
}

function portNumber(text: string): number {
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : NaN;
  if (!(port >= 1 && port <= 65535)) throw new ArgumentError(`--port must be a port number from 1 to 65535; got ${JSON.stringify(text)}`);
  return port;
}

/**
 * A file (0600, in quire's data directory) that sends the browser on to `url`: the browser is started
 * with this file's path, so the token is never on a command line another user's `ps` could read.
 */
function launcherPage(home: string | undefined, url: string): string {
  const path = join(resolvePlaces({ home }).dataDir, "web-open.html");
  const attribute = url.replaceAll("&", "&amp;").replaceAll('"', "&quot;");
  rmSync(path, { force: true });
  writeFileSync(
    path,
    `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${attribute}"><title>quire runs</title><a href="${attribute}">quire runs</a>\n`,
    { mode: 0o600, flag: "wx" },
  );
  return path;
}

/** Starts the platform's opener on `target` and leaves it; says why when there is none. */
function openInBrowser(target: string): Promise<string | undefined> {
  const [file, ...argv] =
    process.platform === "darwin"
      ? ["open", target]
      : process.platform === "win32"
        ? ["cmd", "/c", "start", '""', target]
        : ["xdg-open", target];
  return new Promise((resolve) => {
    const child = spawn(file!, argv, { stdio: "ignore", detached: true });
    child.once("spawn", () => {
      child.unref();
      resolve(undefined);
    });
    child.once("error", (error) => resolve(`could not start ${file}: ${error.message}`));
  });
}
