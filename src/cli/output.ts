// Printing for people and for scripts: with --json, exactly one JSON document on stdout.

/**
 * A reader that stops early (`quirectl logs 7 | head`) closes stdout: the next write fails with EPIPE.
 * quirectl then ends at once, quietly and with exit 0, as a program killed by SIGPIPE does under
 * `git log | head` (the shell reports head's status). Whatever it was doing is left as it is: a run
 * goes on in the daemon. An error writing to stderr has nowhere to be reported and ends it the same way.
 */
let ending = false;
export function endQuietlyWhenOutputCloses(): void {
  if (ending) return;
  ending = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE" || stream === process.stderr) process.exit(0);
      throw error;
    });
  }
}

let jsonPrinted = false;

export function printJson(value: unknown): void {
  jsonPrinted = true;
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v), 2) + "\n");
}

/** Whether this process has printed its JSON document: --json means one, so an error after it adds none. */
export function printedJson(): boolean {
  return jsonPrinted;
}

export function println(text = ""): void {
  process.stdout.write(text + "\n");
}

/** 3723000 -> "1h2m3s". */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts = [
    [Math.floor(s / 86400), "d"],
    [Math.floor(s / 3600) % 24, "h"],
    [Math.floor(s / 60) % 60, "m"],
    [s % 60, "s"],
  ] as const;
  const first = parts.findIndex(([n]) => n > 0);
  return first < 0
    ? "0s"
    : parts
        .slice(first)
        .map(([n, u]) => `${n}${u}`)
        .join("");
}

/** Left-aligned columns sized to their widest cell. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}

export function isoOrNull(unixMs: bigint | number): string | null {
  const ms = Number(unixMs);
  return ms > 0 ? new Date(ms).toISOString() : null;
}

// C0 controls (ESC, CR, BS, newline and tab included), DEL, the C1 controls (U+0080-U+009F: a lone
// U+009B is CSI to some terminals) and the bidi controls (Unicode's Bidi_Control: the embeddings,
// overrides and isolates U+202A-U+202E and U+2066-U+2069, and the marks U+061C, U+200E and U+200F),
// which reorder the text after them so that what a person reads is not what is there.
const CONTROL_CHARACTER = "[\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]";
const CONTROL = new RegExp(CONTROL_CHARACTER, "g");
const HAS_CONTROL = new RegExp(CONTROL_CHARACTER);

/**
 * `text` with every control character made visible, so that a name from a pipeline file cannot move the
 * cursor, recolour or retitle the terminal, or reverse what follows: C0 and DEL in caret notation (`^[`
 * for ESC, `^?` for DEL), C1 and bidi controls as `\u009b`, `\u202e`. Everything a file, a step, a log
 * or the daemon says that is shown to a person goes through this (or visibleLines); stored data and
 * --json output keep the exact text.
 */
export function visible(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
    if (code === 0x7f) return "^?";
    return `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Text of several lines made visible line by line: its line breaks stay line breaks. */
export function visibleLines(text: string): string {
  return text.split("\n").map(visible).join("\n");
}

/** `quirectl: MESSAGE` on stderr, made visible: an error's message often quotes a file, a name or an argument. */
export function printError(message: string): void {
  process.stderr.write(`quirectl: ${visibleLines(message)}\n`);
}

/** Words as one command line a POSIX shell reads back as the same words. */
export function commandLine(words: readonly string[]): string {
  return words.map(shellWord).join(" ");
}

/**
 * One word a POSIX shell reads back as `word`; one holding control characters is written in bash's and
 * zsh's `$'...'` form with them escaped, so that it reaches the terminal harmless and can still be pasted.
 */
export function shellWord(word: string): string {
  if (/^[\w@%+=:,./-]+$/.test(word)) return word;
  if (!HAS_CONTROL.test(word)) return `'${word.replace(/'/g, "'\\''")}'`;
  const escaped = word
    .replace(/[\\']/g, (c) => `\\${c}`)
    .replace(CONTROL, (c) => {
      const code = c.charCodeAt(0);
      return code < 0x80 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
    });
  return `$'${escaped}'`;
}
