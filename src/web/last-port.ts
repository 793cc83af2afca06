// The port the runs page was last served on (web.port in the data directory): a web backend started
// again (it crashed, or stopped while idle) serves there when it is free, so a tab still open on the page
// finds it again, and `quirectl ui` prints the same URL as before.
import { readFileSync, writeFileSync } from "node:fs";

/** The port in `path`, or undefined when there is none (or it holds anything else). */
export function lastPort(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : 0;
  return port >= 1 && port <= 65535 ? port : undefined;
}

export function rememberPort(path: string, port: number): void {
  writeFileSync(path, `${port}\n`, { mode: 0o600 });
}
