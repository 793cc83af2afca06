// expect(): wait until the output matches a pattern; the match and what came before it are consumed.
import { StringDecoder } from "node:string_decoder";
import { ExpectEndedError, ExpectTimeoutError } from "./errors.js";
import { TailBuffer } from "./tail-buffer.js";

export interface ExpectMatch {
  /** The matched text. */
  match: string;
  /** Output since the previous match, up to this one. */
  before: string;
  /** Capture groups, for a RegExp pattern. */
  groups: string[];
}

interface Waiter {
  pattern: string | RegExp;
  resolve(m: ExpectMatch): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout | undefined;
}

/** Output not yet consumed by a match is kept up to about this much (characters, or bytes while nobody waits). */
const WINDOW_CHARS = 256 * 1024;

/**
 * While nobody waits for a match, output is kept as bytes (the last WINDOW_CHARS of them, copied into a
 * ring) and decoded only once someone does: a command printing at full speed with nobody calling expect()
 * costs a copy per chunk, not a string per chunk kept long enough to reach the old generation.
 */
export class Expecter {
  #decoder = new StringDecoder("utf8");
  readonly #raw = new TailBuffer(WINDOW_CHARS);
  #pieces: string[] = [];
  #chars = 0;
  #waiters: Waiter[] = [];
  #ended = false;

  feed(chunk: Buffer): void {
    if (this.#waiters.length === 0) return this.#raw.push(chunk);
    this.#decode(chunk);
    this.#settle();
  }

  #decode(chunk: Buffer): void {
    const piece = this.#decoder.write(chunk);
    if (piece) {
      this.#pieces.push(piece);
      this.#chars += piece.length;
      while (this.#chars - this.#pieces[0]!.length >= WINDOW_CHARS) this.#chars -= this.#pieces.shift()!.length;
    }
  }

  /** Decodes the bytes kept while nobody waited. */
  #decodeRaw(): void {
    const pushed = this.#raw.pushed;
    if (pushed === 0) return;
    let bytes = this.#raw.bytes();
    this.#raw.clear();
    if (pushed > bytes.length) {
      // The window moved past everything decoded before, and may begin inside a character.
      this.#pieces = [];
      this.#chars = 0;
      this.#decoder = new StringDecoder("utf8");
      let start = 0;
      while (start < 3 && start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
      bytes = bytes.subarray(start);
    }
    this.#decode(bytes);
  }

  /** The unconsumed output as one string (joined on demand, then kept joined). */
  get #text(): string {
    this.#decodeRaw();
    if (this.#pieces.length > 1) this.#pieces = [this.#pieces.join("")];
    return this.#pieces[0] ?? "";
  }

  set #text(text: string) {
    this.#pieces = text ? [text] : [];
    this.#chars = text.length;
  }

  end(): void {
    this.#ended = true;
    this.#text = this.#text + this.#decoder.end();
    this.#settle();
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new ExpectEndedError(String(w.pattern), this.#text));
    }
  }

  expect(pattern: string | RegExp, timeoutMs: number | undefined): Promise<ExpectMatch> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { pattern, resolve, reject, timer: undefined };
      if (timeoutMs !== undefined) {
        waiter.timer = setTimeout(() => {
          this.#waiters = this.#waiters.filter((w) => w !== waiter);
          reject(new ExpectTimeoutError(String(pattern), timeoutMs, this.#text));
        }, timeoutMs);
      }
      this.#waiters.push(waiter);
      this.#settle();
      if (this.#ended && this.#waiters.includes(waiter)) {
        this.#waiters = this.#waiters.filter((w) => w !== waiter);
        clearTimeout(waiter.timer);
        reject(new ExpectEndedError(String(pattern), this.#text));
      }
    });
  }

  /** Waiters are served in order: each consumes output up to its match. */
  #settle(): void {
    while (this.#waiters.length > 0) {
      const waiter = this.#waiters[0]!;
      const found = find(this.#text, waiter.pattern);
      if (!found) return;
      this.#waiters.shift();
      clearTimeout(waiter.timer);
      this.#text = this.#text.slice(found.index + found.match.length);
      waiter.resolve({ match: found.match, before: found.before, groups: found.groups });
    }
  }
}

function find(text: string, pattern: string | RegExp): { index: number; match: string; before: string; groups: string[] } | undefined {
  if (typeof pattern === "string") {
    const index = text.indexOf(pattern);
    return index < 0 ? undefined : { index, match: pattern, before: text.slice(0, index), groups: [] };
  }
  const re = new RegExp(pattern.source, pattern.flags.replace("g", "").replace("y", ""));
  const m = re.exec(text);
  return m ? { index: m.index, match: m[0], before: text.slice(0, m.index), groups: m.slice(1).map((g) => g ?? "") } : undefined;
}
