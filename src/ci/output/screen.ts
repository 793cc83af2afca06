// What a terminal would show after some output: the last lines, rendered by a headless xterm.
import xterm from "@xterm/headless";

const { Terminal } = xterm;

/**
 * Only the end of a log is rendered: the cost is linear in the bytes fed, and 64 KiB is far more than the
 * last screenful needs even when it is mostly escape sequences and progress-bar redraws.
 */
const RENDER_BYTES = 64 * 1024;

const ignore = (): void => {};
const SILENT = { trace: ignore, debug: ignore, info: ignore, warn: ignore, error: ignore };

/**
 * The last `rows` lines (at most) a `cols`-wide terminal shows after `bytes`, scrollback included, with
 * carriage returns, cursor movement and erasing applied and colours dropped. Lines the terminal wrapped are
 * joined back into one; trailing spaces and trailing blank lines are trimmed. A bare "\n" is taken as
 * "\r\n" (convertEol): PTY output already has "\r\n" (the line discipline's onlcr), and output that came
 * through a pipe means a new line by "\n" too.
 *
 * The lines are the main screen's even when the output ends on the alternate screen (a full-screen
 * program, `\x1b[?1049h`, that failed there): what such a program draws is a frame of its own interface,
 * often blank, while what was printed before it started is on the main screen. Only output that wrote
 * nothing on the main screen is read from the alternate one.
 */
export async function renderTail(bytes: Buffer, cols = 120, rows = 50): Promise<string[]> {
  // Enough scrollback that the last `rows` lines are all kept even if the cursor ended near the top.
  // The headless build counts reading the buffer as proposed API. Logging off, and a logger that drops
  // everything besides: xterm reports each byte its parser rejects (a binary dump is thousands) with
  // console.error, which would land in quirectl's stderr and quired.log.
  const terminal = new Terminal({
    cols,
    rows,
    scrollback: rows,
    convertEol: true,
    allowProposedApi: true,
    logLevel: "off",
    logger: SILENT,
  });
  try {
    await new Promise<void>((resolve) => terminal.write(tailOf(bytes), resolve));
    const screens = terminal.buffer;
    const main = linesOf(screens.normal);
    const lines = main.length === 0 && screens.active.type === "alternate" ? linesOf(screens.alternate) : main;
    return lines.slice(-rows);
  } finally {
    terminal.dispose();
  }
}

/** A screen's lines, scrollback included: wrapped rows joined, trailing spaces and blank lines trimmed. */
function linesOf(buffer: xterm.IBuffer): string[] {
  const lines: string[] = [];
  for (let y = 0; y < buffer.length; y++) {
    const line = buffer.getLine(y);
    if (!line) continue;
    // A wrapped line goes on in the next row, so its own trailing spaces are content.
    const continues = y + 1 < buffer.length && buffer.getLine(y + 1)?.isWrapped === true;
    const text = line.translateToString(!continues);
    if (line.isWrapped && lines.length > 0) lines[lines.length - 1] += text;
    else lines.push(text);
  }
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/**
 * The last RENDER_BYTES of `bytes`, from the first point that is outside any escape sequence and UTF-8
 * character: the start of a line (after "\n" or "\r\n"), a carriage return (where a progress bar redraws)
 * or an escape; failing all of those, the first byte that does not continue a UTF-8 character. What was
 * cut off is lost: colours do not matter here, and cursor movement rarely reaches back 64 KiB.
 */
function tailOf(bytes: Buffer): Buffer {
  if (bytes.length <= RENDER_BYTES) return bytes;
  const tail = bytes.subarray(bytes.length - RENDER_BYTES);
  for (let i = 0; i < tail.length; i++) {
    const byte = tail[i]!;
    if (byte === 0x0a) return tail.subarray(i + 1);
    if (byte === 0x0d) return tail.subarray(tail[i + 1] === 0x0a ? i + 2 : i);
    if (byte === 0x1b) return tail.subarray(i);
  }
  let start = 0;
  while (start < tail.length && (tail[start]! & 0xc0) === 0x80) start++;
  return tail.subarray(start);
}
