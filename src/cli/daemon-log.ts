// quirectl daemon log: quired.log readably (time, level, component, message, key=value fields), or with
// --json the lines as they are; --follow keeps printing, across rotations.
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { resolvePlaces } from "../core/places.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printError, println, visible } from "./output.js";

export interface LogArgs extends GlobalArgs {
  follow: boolean;
  lines?: number;
}

const POLL_MS = 200;
const CHUNK = 64 * 1024;

export async function showDaemonLog(args: LogArgs): Promise<number> {
  const path = resolvePlaces({ home: args.home }).logFile;
  const print = (line: string) => println(args.json ? line : formatLogLine(line));
  const reader = new LogReader(path);
  const first = reader.read();
  if (first === undefined && !args.follow) {
    printError(`no daemon log at ${path} (quired has not run with this home)`);
    return ExitCode.Failed;
  }
  const lines = first ?? [];
  for (const line of args.lines !== undefined ? lines.slice(Math.max(0, lines.length - args.lines)) : lines) print(line);
  if (!args.follow) return ExitCode.Ok;
  // Until interrupted: Ctrl-C (SIGINT) ends quirectl as usual.
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    for (const line of reader.read() ?? []) print(line);
  }
}

/**
 * Reads whole lines from a log that grows and is rotated: each read returns the lines added since the
 * last. When the path names another file (renamed to .1 and a new one opened), the rest of the old file
 * is read first, then the new one from its start; a file that shrank (truncated) is read again from 0.
 */
export class LogReader {
  readonly #path: string;
  #fd: number | undefined;
  #ino = 0;
  #position = 0;
  #partial = "";

  constructor(path: string) {
    this.#path = path;
  }

  /** New complete lines; undefined when there is no file at the path (and none open). */
  read(): string[] | undefined {
    if (this.#fd === undefined && !this.#open()) return undefined;
    const lines = this.#drain();
    let current: number | undefined;
    try {
      current = statSync(this.#path).ino;
    } catch {}
    if (current !== undefined && current !== this.#ino) {
      // Rotated: the old file is complete now; the new one starts at 0.
      this.#close();
      if (this.#partial) lines.push(this.#partial);
      this.#partial = "";
      if (this.#open()) lines.push(...this.#drain());
    } else if (this.#fd !== undefined && fstatSync(this.#fd).size < this.#position) {
      this.#position = 0;
      this.#partial = "";
      lines.push(...this.#drain());
    }
    return lines;
  }

  #open(): boolean {
    try {
      this.#fd = openSync(this.#path, "r");
    } catch {
      return false;
    }
    this.#ino = fstatSync(this.#fd).ino;
    this.#position = 0;
    return true;
  }

  #close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #drain(): string[] {
    if (this.#fd === undefined) return [];
    const buffer = Buffer.alloc(CHUNK);
    const parts: string[] = [];
    for (;;) {
      const n = readSync(this.#fd, buffer, 0, CHUNK, this.#position);
      if (n <= 0) break;
      this.#position += n;
      parts.push(buffer.toString("utf8", 0, n));
    }
    const text = this.#partial + parts.join("");
    const lines = text.split("\n");
    this.#partial = lines.pop() ?? "";
    return lines;
  }
}

const KNOWN = new Set(["time", "level", "component", "msg"]);

/** `2025-05-01 12:03:04.123 INFO  broker  quired listening socket=/run/quire/quired.sock pid=12`; a line that is not JSON as it is. */
export function formatLogLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return visible(line);
  } catch {
    return visible(line);
  }
  const time = typeof entry.time === "string" ? localTime(entry.time) : "-";
  const level = String(entry.level ?? "-")
    .toUpperCase()
    .padEnd(5);
  const component = String(entry.component ?? "-").padEnd(12);
  const fields = Object.entries(entry)
    .filter(([k]) => !KNOWN.has(k))
    .map(([k, v]) => `${k}=${fieldValue(v)}`);
  return visible([time, level, component, String(entry.msg ?? ""), ...fields].join(" "));
}

function fieldValue(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}
