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

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v), 2) + "\n");
}

export function println(text = ""): void {
  process.stdout.write(text + "\n");
}

/** 3723000 -> "1h2m3s". */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts = [[Math.floor(s / 86400), "d"], [Math.floor(s / 3600) % 24, "h"], [Math.floor(s / 60) % 60, "m"], [s % 60, "s"]] as const;
  const first = parts.findIndex(([n]) => n > 0);
  return first < 0 ? "0s" : parts.slice(first).map(([n, u]) => `${n}${u}`).join("");
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

/** Words as one command line a POSIX shell reads back as the same words. */
export function commandLine(words: readonly string[]): string {
  return words.map((w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`)).join(" ");
}
