// GitHub's workflow commands in a step's output (`::error file=a.js,line=3::message`, `::add-mask::value`,
// `::group::`, `::stop-commands::`), read line by line as the step prints them. What a command asks for is
// handed to the caller; the bytes themselves go to the log as printed (a mask is applied by the redactor).

export type WorkflowCommand =
  | { kind: "mask"; value: string }
  | { kind: "error" | "warning" | "notice"; message: string; file?: string; line?: number; column?: number; title?: string }
  | { kind: "group"; title: string }
  | { kind: "endgroup" };

/** A line longer than this is not a command (and is not held in memory waiting for its end). */
export const MAX_LINE_BYTES = 64 * 1024;

const COLONS = Buffer.from("::");
const ADD_MASK = "::add-mask::";
/** Bytes of a line in progress looked at to tell whether it is an `::add-mask::` command (after colour codes). */
const MASK_HEAD_BYTES = 256;
const NEWLINE = 0x0a;
const COLON = 0x3a;

/**
 * Reads lines on bytes: a line can only be a command if it holds "::", so only such lines are decoded and
 * looked at, and the rest of the output costs a search for "::" and newlines (native, per chunk), not a
 * string per line. The buffers pushed must not change afterwards (the line in progress keeps views of them).
 */
export class WorkflowCommandScanner {
  readonly #onCommand: (command: WorkflowCommand) => void;
  /** The line in progress (its bytes so far, unless it is overlong), and whether it holds "::". */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  #candidate = false;
  #overlong = false;
  readonly #reader = new WorkflowCommandReader();

  constructor(onCommand: (command: WorkflowCommand) => void) {
    this.#onCommand = onCommand;
  }

  /** Reads the complete lines of `chunk` (a PTY's bytes, `\r\n` line ends). */
  push(chunk: Buffer): void {
    const firstNewline = chunk.indexOf(NEWLINE);
    if (firstNewline < 0) return this.#extend(chunk);
    // The line in progress ends here.
    const colons = chunk.indexOf(COLONS);
    const head = chunk.subarray(0, firstNewline);
    const spans = this.#partial.length > 0 && this.#lastByte() === COLON && chunk[0] === COLON;
    if (!this.#overlong && (this.#candidate || spans || (colons >= 0 && colons < firstNewline))) {
      this.#lineOf(this.#partialBytes > 0 ? Buffer.concat([...this.#partial, head]) : head);
    }
    this.#partial = [];
    this.#partialBytes = 0;
    this.#candidate = this.#overlong = false;
    // Lines wholly in this chunk: only those that hold "::".
    const lastNewline = chunk.lastIndexOf(NEWLINE);
    for (let at = colons < firstNewline ? (colons < 0 ? -1 : chunk.indexOf(COLONS, firstNewline)) : colons; at >= 0 && at < lastNewline; ) {
      const start = chunk.lastIndexOf(NEWLINE, at) + 1;
      const end = chunk.indexOf(NEWLINE, at);
      this.#lineOf(chunk.subarray(start, end));
      at = chunk.indexOf(COLONS, end);
    }
    this.#extend(chunk.subarray(lastNewline + 1));
  }

  /**
   * Whether the line in progress is an `::add-mask::` command: its value (what of it has come, and what
   * is still to come) must not be released before the line ends and the mask is set. What came before
   * `::add-mask::` is complete holds no value yet.
   */
  get maskInProgress(): boolean {
    if (this.#partialBytes === 0 || this.#overlong || this.#reader.stopped) return false;
    const first = this.#partial[0]![0]!;
    // Most lines begin with a printable ASCII byte other than a colon, which no command does after what
    // commandPart() strips (escapes, and spaces: ASCII's, `\r` included, and Unicode's): no string is made for them.
    if (first > 0x20 && first < 0x7f && first !== COLON) return false;
    const head: Buffer[] = [];
    let bytes = 0;
    for (const part of this.#partial) {
      if (bytes >= MASK_HEAD_BYTES) break;
      head.push(part);
      bytes += part.length;
    }
    return commandPart(Buffer.concat(head).subarray(0, MASK_HEAD_BYTES).toString("utf8")).startsWith(ADD_MASK);
  }

  /** The output has ended: a last line without its newline still counts. */
  end(): void {
    if (this.#partial.length > 0) this.#line(Buffer.concat(this.#partial).toString("utf8"));
    this.#partial = [];
    this.#partialBytes = 0;
  }

  /** More of the line in progress. */
  #extend(bytes: Buffer): void {
    if (bytes.length === 0 || this.#overlong) return;
    if (this.#partialBytes + bytes.length > MAX_LINE_BYTES) {
      this.#partial = [];
      this.#partialBytes = 0;
      this.#overlong = true;
      return;
    }
    this.#candidate ||= bytes.indexOf(COLONS) >= 0 || (this.#partial.length > 0 && this.#lastByte() === COLON && bytes[0] === COLON);
    this.#partial.push(bytes);
    this.#partialBytes += bytes.length;
  }

  #lastByte(): number {
    const last = this.#partial[this.#partial.length - 1]!;
    return last[last.length - 1]!;
  }

  /** A complete line's bytes, without its newline. */
  #lineOf(bytes: Buffer): void {
    this.#line(bytes.toString("utf8").replace(/\r$/, ""));
  }

  #line(line: string): void {
    const command = this.#reader.read(line);
    if (command !== undefined) this.#onCommand(command);
  }
}

/**
 * Reads one line at a time: the command the line is, if any. It keeps `::stop-commands::` across lines, so
 * a reader goes through one step's output in order.
 */
export class WorkflowCommandReader {
  /** While set, commands are not acted on until a line `::<token>::` (GitHub's stop-commands). */
  #stopToken: string | undefined;

  /** Commands are stopped (`::stop-commands::`): no line is one until its token comes. */
  get stopped(): boolean {
    return this.#stopToken !== undefined;
  }

  read(raw: string): WorkflowCommand | undefined {
    const line = commandPart(raw);
    if (!line.startsWith("::")) return undefined;
    const end = line.indexOf("::", 2);
    if (end < 0) return undefined;
    const head = line.slice(2, end);
    const message = unescapeData(line.slice(end + 2));
    const space = head.indexOf(" ");
    const name = space < 0 ? head : head.slice(0, space);
    if (this.#stopToken !== undefined) {
      if (name === this.#stopToken) this.#stopToken = undefined;
      return undefined;
    }
    const props = space < 0 ? {} : properties(head.slice(space + 1));
    switch (name) {
      case "add-mask":
        return message === "" ? undefined : { kind: "mask", value: message };
      case "error":
      case "warning":
      case "notice":
        return {
          kind: name,
          message,
          ...(props.file ? { file: props.file } : {}),
          ...(numberOf(props.line) ? { line: numberOf(props.line) } : {}),
          ...(numberOf(props.col ?? props.column) ? { column: numberOf(props.col ?? props.column) } : {}),
          ...(props.title ? { title: props.title } : {}),
        };
      case "group":
        return { kind: "group", title: message };
      case "endgroup":
        return { kind: "endgroup" };
      case "stop-commands":
        if (message !== "") this.#stopToken = message;
        return undefined;
    }
    return undefined;
  }
}

/** How a folded group's first line reads where a person sees a step's output (GitHub's collapsed group). */
export function groupLine(title: string): string {
  return `▸ ${title}`;
}

/**
 * A step's rendered lines as a person reads them outside the log itself: a `::group::` line as the group's
 * title (`▸ Install`), an `::endgroup::` line left out; every other line as it is.
 */
export function foldGroupLines(lines: readonly string[]): string[] {
  const reader = new WorkflowCommandReader();
  return lines.flatMap((line) => {
    const command = reader.read(line);
    if (command?.kind === "group") return [groupLine(command.title)];
    return command?.kind === "endgroup" ? [] : [line];
  });
}

/** A line without the colour or cursor codes and spaces before a command (a PTY's prompt, a tool's colouring). */
function commandPart(line: string): string {
  return line.replace(/^(?:\x1b\[[0-9;?]*[A-Za-z])+/, "").trimStart();
}

/** `file=a.js,line=3` as GitHub writes properties, with its escapes (%2C for a comma, %3A for a colon). */
function properties(text: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const part of text.split(",")) {
    const at = part.indexOf("=");
    if (at > 0) props[part.slice(0, at).trim()] = unescapeProperty(part.slice(at + 1));
  }
  return props;
}

function numberOf(text: string | undefined): number | undefined {
  const n = text === undefined ? Number.NaN : Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function unescapeData(text: string): string {
  return text.replace(/%0D/gi, "\r").replace(/%0A/gi, "\n").replace(/%25/g, "%");
}

function unescapeProperty(text: string): string {
  return unescapeData(text).replace(/%3A/gi, ":").replace(/%2C/gi, ",");
}

/** An annotation's text from a workflow command: `error: src/a.js:3:5: title: message`. */
export function annotationText(command: Extract<WorkflowCommand, { kind: "error" | "warning" | "notice" }>): string {
  const where = command.file
    ? `${command.file}${command.line ? `:${command.line}${command.column ? `:${command.column}` : ""}` : ""}: `
    : "";
  const title = command.title ? `${command.title}: ` : "";
  return `${command.kind}: ${where}${title}${command.message}`;
}
