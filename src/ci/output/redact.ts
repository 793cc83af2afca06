// Streaming redaction: every occurrence of a secret's bytes becomes `***`, however the output is chunked.
import { MIN_SECRET_BYTES } from "../rules.js";
import { TailBuffer } from "../../runtime/tail-buffer.js";
import { PatternAutomaton } from "./pattern-automaton.js";
import { MAX_LINE_BYTES } from "./workflow-commands.js";

const MASK = Buffer.from("***");
const EMPTY = Buffer.alloc(0);

/**
 * Matching is on UTF-8 bytes, so non-ASCII secrets and chunks split inside a character work. Where
 * occurrences overlap (two secrets sharing bytes, or a secret that extends another) their union becomes one
 * `***`, so no part of either leaks; occurrences that only touch stay two masks. push() holds back only a
 * tail that could still be the start of a secret (at most the longest secret minus one byte): a chunk that
 * does not end in the beginning of a secret comes back whole, as the same Buffer.
 *
 * The bytes are read once, through an Aho-Corasick automaton whose state carries over from one chunk to
 * the next, so the cost is linear in the output whatever the secrets are (a secret of 100,000 times the
 * same byte included); of the occurrences ending at a byte only the longest matters, as it holds the others.
 */
export class Redactor {
  readonly #patterns: Buffer[] = [];
  #automaton: PatternAutomaton;
  #state = 0;
  /** Offset in the whole output of the next byte to read, and of the first byte not yet released. */
  #pos = 0;
  #heldStart = 0;
  /**
   * The last bytes read (the longest secret's length less one: no more can be held back), copied: the bytes
   * from #heldStart on that are not inside a masked region are among them.
   */
  #held: TailBuffer;
  #window: number;
  /**
   * While a masked region still open reaches back past #held (a secret repeated end to end), its last bytes
   * up to a mask command's line: a value added then may have begun inside the region, and add() reads them.
   */
  #open: TailBuffer | undefined;
  /** Masked regions not yet released, as [start, end) offsets in order: a later occurrence may still join them. */
  #regions: number[] = [];

  constructor(secrets: readonly string[]) {
    this.#patterns = [...patterns(secrets)];
    this.#automaton = new PatternAutomaton(this.#patterns);
    this.#window = Math.max(1, this.#automaton.maxLength - 1);
    this.#held = new TailBuffer(this.#window);
  }

  /** Bytes are held back, waiting for more output to say whether they begin a secret. */
  get holding(): boolean {
    return this.#heldStart < this.#pos;
  }

  /** Redacts `secret` too from now on (a value a step masked while it ran), in the bytes still held back as well. */
  add(secret: string): void {
    const added = [...patterns([secret])].filter((pattern) => !this.#patterns.some((known) => known.equals(pattern)));
    if (added.length === 0) return;
    this.#patterns.push(...added);
    this.#automaton = new PatternAutomaton(this.#patterns);
    // The last bytes read are read again by the new automaton, released ones too (a flush may have released
    // the beginning of a secret still coming), and an open region's (the value may begin inside it); what
    // was released is out, so regions are only found in what is held, and joined with those found before.
    const recent = (this.#open ?? this.#held).bytes();
    this.#window = Math.max(1, this.#automaton.maxLength - 1);
    this.#held = new TailBuffer(this.#window);
    this.#held.push(recent);
    const before = this.#regions;
    this.#state = 0;
    this.#regions = [];
    this.#scan(recent, this.#pos - recent.length);
    this.#regions = joined(before, this.#regions);
  }

  /** Returns the redacted bytes that can be released now. */
  push(chunk: Buffer): Buffer {
    if (this.#automaton.maxLength === 0) return chunk;
    const start = this.#pos;
    this.#scan(chunk, start);
    this.#pos += chunk.length;
    // After a flush the state may reach back into released bytes: those are out already.
    return this.#release(chunk, start, Math.max(this.#heldStart, this.#pos - this.#automaton.hold[this.#state]!), false);
  }

  /**
   * Releases what is held back now (output that has gone quiet: a prompt that happens to begin like a
   * secret must not wait for more). If a secret does continue, the part of it still to come is masked.
   * Once per possible secret: while the bytes since continue one whose beginning a flush released, they
   * stay held until it ends or breaks off, or output printed slower than the quiet time would go out whole,
   * a piece per flush, and only its last byte be masked.
   */
  flush(): Buffer {
    if (this.#pos - this.#automaton.hold[this.#state]! < this.#heldStart) return EMPTY;
    return this.#release(EMPTY, this.#pos, this.#pos, true);
  }

  /** Releases what is held back: the output has ended, so a partial secret is just bytes. */
  end(): Buffer {
    const rest = this.#release(EMPTY, this.#pos, this.#pos, true);
    this.#state = 0;
    return rest;
  }

  /** Reads `bytes` (at offset `offset` of the output) through the automaton, noting each occurrence's region. */
  #scan(bytes: Buffer, offset: number): void {
    const automaton = this.#automaton;
    const { root, longest } = automaton;
    const n = bytes.length;
    let state = this.#state;
    for (let i = 0; i < n; i++) {
      if (state === 0) {
        // Most output begins no secret: stay at the root as fast as the loop goes.
        while (i < n && root[bytes[i]!] === 0) i++;
        if (i === n) break;
        state = root[bytes[i]!]!;
      } else {
        state = automaton.next(state, bytes[i]!);
      }
      const length = longest[state]!;
      // Released bytes are out: an occurrence that began in them (after a flush) is masked from where they end,
      // and one wholly in them (read again by add()) is none to mask.
      if (length !== 0 && offset + i + 1 > this.#heldStart) this.#cover(Math.max(offset + i + 1 - length, this.#heldStart), offset + i + 1);
    }
    this.#state = state;
  }

  /** Adds the region [start, end) (ending at or after every region so far), joining those it overlaps. */
  #cover(start: number, end: number): void {
    const regions = this.#regions;
    while (regions.length > 0 && regions[regions.length - 1]! > start) {
      regions.pop();
      start = Math.min(start, regions.pop()!);
    }
    regions.push(start, end);
  }

  /**
   * Releases the output up to `upTo` (offsets up to #pos; `chunk`, just read, holds those from `chunkStart`):
   * plain bytes as they are, each region that no later occurrence can join (`final`: every region) as one mask.
   */
  #release(chunk: Buffer, chunkStart: number, upTo: number, final: boolean): Buffer {
    const out: Buffer[] = [];
    const regions = this.#regions;
    let at = this.#heldStart;
    let k = 0;
    for (; k < regions.length && (final || regions[k + 1]! <= upTo); k += 2) {
      if (regions[k]! > at) this.#bytes(out, at, regions[k]!, chunk, chunkStart);
      out.push(MASK);
      at = regions[k + 1]!;
    }
    const until = k < regions.length ? Math.min(upTo, regions[k]!) : upTo;
    if (until > at) this.#bytes(out, at, until, chunk, chunkStart);
    at = until;
    if (k > 0) regions.splice(0, k);
    this.#heldStart = at;
    // Held bytes older than the last maxLength - 1 lie inside a masked region still open (a secret repeated
    // end to end), and are never released as they are; only add() reads them again. Until this chunk, the
    // bytes not released were all in #held (or #open already).
    if (this.#pos - at <= this.#window) this.#open = undefined;
    else {
      if (this.#open === undefined) {
        this.#open = new TailBuffer(MAX_LINE_BYTES);
        this.#open.push(this.#held.bytes());
      }
      this.#open.push(chunk);
    }
    this.#held.push(chunk);
    if (out.length === 0) return EMPTY;
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** Appends to `out` the output's bytes [from, to), from what is held and the chunk just read (which follows it). */
  #bytes(out: Buffer[], from: number, to: number, chunk: Buffer, chunkStart: number): void {
    if (from < chunkStart) out.push(this.#held.bytes(chunkStart - from).subarray(0, Math.min(to, chunkStart) - from));
    if (to > chunkStart) {
      const a = Math.max(from, chunkStart) - chunkStart;
      const b = to - chunkStart;
      out.push(a === 0 && b === chunk.length ? chunk : chunk.subarray(a, b));
    }
  }
}

/** Two lists of regions ([start, end) pairs in order) as one, overlapping regions joined. */
function joined(a: number[], b: number[]): number[] {
  const all: [number, number][] = [];
  for (const list of [a, b]) for (let k = 0; k < list.length; k += 2) all.push([list[k]!, list[k + 1]!]);
  all.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [start, end] of all) {
    if (out.length > 0 && start < out[out.length - 1]!) out[out.length - 1] = Math.max(out[out.length - 1]!, end);
    else out.push(start, end);
  }
  return out;
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
