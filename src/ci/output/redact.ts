// Streaming redaction: every occurrence of a secret's bytes becomes `***`, however the output is chunked.
import { MIN_SECRET_BYTES } from "../rules.js";

const MASK = Buffer.from("***");
const EMPTY = Buffer.alloc(0);

/**
 * Matching is on UTF-8 bytes, so non-ASCII secrets and chunks split inside a character work. Where
 * occurrences overlap (two secrets sharing bytes, or a secret that extends another) their union becomes one
 * `***`, so no part of either leaks; occurrences that only touch stay two masks. push() holds back only a
 * tail that could still be the start of a secret (at most the longest secret minus one byte): a chunk that
 * does not end in the beginning of a secret comes back whole.
 */
export class Redactor {
  /** Patterns by their first byte, longest first. */
  readonly #byFirstByte: (Buffer[] | undefined)[] = new Array(256);
  #held: Buffer = EMPTY;
  /** Bytes at the start of #held that lie inside an occurrence already masked. */
  #covered = 0;

  constructor(secrets: readonly string[]) {
    for (const pattern of [...patterns(secrets)].sort((a, b) => b.length - a.length)) {
      (this.#byFirstByte[pattern[0]!] ??= []).push(pattern);
    }
  }

  /** Redacts `secret` too from now on (a value a step masked while it ran). */
  add(secret: string): void {
    for (const pattern of patterns([secret])) {
      const list = (this.#byFirstByte[pattern[0]!] ??= []);
      if (list.some((known) => known.equals(pattern))) continue;
      list.push(pattern);
      list.sort((a, b) => b.length - a.length);
    }
  }

  /** Returns the redacted bytes that can be released now. */
  push(chunk: Buffer): Buffer {
    const data = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk]);
    return this.#scan(data, false);
  }

  /** Releases what is held back: the output has ended, so a partial secret is just bytes. */
  end(): Buffer {
    return this.#scan(this.#held, true);
  }

  #scan(data: Buffer, final: boolean): Buffer {
    const out: Buffer[] = [];
    let cover = this.#covered; // end of the masked region: bytes before it are not emitted
    let runStart = 0; // start of the bytes passed through since the last mask
    let i = 0;
    scan: for (; i < data.length; i++) {
      let longest = 0;
      for (const pattern of this.#byFirstByte[data[i]!] ?? []) {
        const available = data.length - i;
        if (available < pattern.length) {
          // The bytes so far could be this secret: decide once more output arrives (or at end()).
          if (!final && data.compare(pattern, 0, available, i) === 0) break scan;
        } else if (pattern.length > longest && data.compare(pattern, 0, pattern.length, i, i + pattern.length) === 0) {
          longest = pattern.length;
        }
      }
      if (i < cover) {
        cover = Math.max(cover, i + longest);
      } else if (longest > 0) {
        const start = Math.max(runStart, cover);
        if (start < i) out.push(data.subarray(start, i));
        out.push(MASK);
        cover = runStart = i + longest;
      }
    }
    const start = Math.max(runStart, cover);
    if (start < i) out.push(data.subarray(start, i));
    this.#held = i < data.length ? Buffer.from(data.subarray(i)) : EMPTY;
    this.#covered = Math.max(0, cover - i);
    if (out.length === 0) return EMPTY;
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }
}

/** Redacts a whole string at once. */
export function redactString(text: string, secrets: readonly string[]): string {
  const redactor = new Redactor(secrets);
  return Buffer.concat([redactor.push(Buffer.from(text)), redactor.end()]).toString();
}

/**
 * The byte patterns for the secrets: each value; for a multi-line value also the form a PTY prints (its
 * line discipline turns "\n" into "\r\n") and each line alone, since tools often print such values line by
 * line.
 */
function patterns(secrets: readonly string[]): Set<Buffer> {
  const forms = new Set<string>();
  for (const secret of secrets) {
    forms.add(secret);
    if (secret.includes("\n")) {
      forms.add(secret.replaceAll("\n", "\r\n"));
      for (const line of secret.split(/\r?\n/)) forms.add(line);
    }
  }
  const result = new Set<Buffer>();
  for (const form of forms) {
    const bytes = Buffer.from(form);
    if (bytes.length >= MIN_SECRET_BYTES) result.add(bytes);
  }
  return result;
}
