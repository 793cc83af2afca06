// The files the page is made of, all served from here (it works offline, and the CSP allows nothing
// else): its HTML and CSS, its scripts (src/web/page compiled to dist/src/web/page), and xterm.js with its CSS.
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { PAGE_CSS, PAGE_HTML } from "./page-files.js";

export interface StaticFile {
  type: string;
  body: Buffer;
}

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** Every file by the path it is served at; read once, when the page is first served. */
export function staticFiles(): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const html = { type: "text/html; charset=utf-8", body: Buffer.from(PAGE_HTML) };
  files.set("/", html);
  files.set("/app/style.css", { type: CSS, body: Buffer.from(PAGE_CSS) });
  const pageDir = join(dirname(fileURLToPath(import.meta.url)), "page");
  for (const name of readdirSync(pageDir)) {
    if (/^[a-z-]+\.js$/.test(name)) files.set(`/app/${name}`, { type: JS, body: readFileSync(join(pageDir, name)) });
  }
  const xterm = dirname(createRequire(import.meta.url).resolve("@xterm/xterm/package.json"));
  files.set("/vendor/xterm.mjs", { type: JS, body: readFileSync(join(xterm, "lib", "xterm.mjs")) });
  files.set("/vendor/xterm.css", { type: CSS, body: readFileSync(join(xterm, "css", "xterm.css")) });
  return files;
}

/** The page's own routes, answered with its HTML (the script reads the path). */
export const PAGE_ROUTES = /^\/(?:runs\/[0-9]+)?$/;
