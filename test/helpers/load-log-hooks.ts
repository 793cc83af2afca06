// The loader hooks load-log.ts registers (they run on the loader's own thread, hence a file, not a message).
import { appendFileSync } from "node:fs";

let log = "";

export function initialize(data: { log: string }): void {
  log = data.log;
}

export async function load(url: string, context: object, next: (url: string, context: object) => Promise<unknown>): Promise<unknown> {
  appendFileSync(log, `${url}\n`);
  return next(url, context);
}
