// The daemon's log: JSON lines in quired.log. Only the broker writes the file (LogFile), one write per
// line, so lines never interleave; backends write JSON lines to their stderr, a pipe the broker reads and
// copies into the file a line at a time (pipeLines). Rotation is therefore the broker's alone: it renames
// the file between two lines and reopens it, and a line a backend writes meanwhile waits in its pipe.
import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import type { Readable } from "node:stream";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/** Where a logger's lines go: a file descriptor (a backend's stderr) or the broker's LogFile. */
export type LogTarget = number | { writeLine(line: string): void };

/** A logger writing JSON lines to `target`, each line in one write. */
export function jsonLogger(target: LogTarget, component: string): Logger {
  return {
    log(level, msg, fields) {
      const line = JSON.stringify({ time: new Date().toISOString(), level, component, pid: process.pid, msg, ...fields }, bigintAsString);
      if (typeof target !== "number") return target.writeLine(line);
      try {
        writeAll(target, Buffer.from(line + "\n"));
      } catch {
        // A log that cannot be written must never take the daemon down.
      }
    },
  };
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}

/**
 * A backend's log target: its stderr (a pipe to the broker), and once that pipe is broken (the broker
 * died: EPIPE) quired.log itself, appended with O_APPEND a line per write. No broker is left to rotate it
 * then, so the orphaned backend's last lines (its drain) still reach the file.
 */
export function backendLogTarget(logFile: string): { writeLine(line: string): void } {
  let fd = 2;
  let orphaned = false;
  return {
    writeLine(line) {
      const buffer = Buffer.from(line + "\n");
      try {
        writeAll(fd, buffer);
      } catch (error) {
        if (orphaned || (error as NodeJS.ErrnoException).code !== "EPIPE") return;
        orphaned = true;
        try {
          fd = openSync(logFile, "a", 0o600);
          writeAll(fd, buffer);
        } catch {}
      }
    },
  };
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/** The whole buffer, waiting out EAGAIN (a non-blocking pipe the broker has not emptied yet) for up to 10 s. */
function writeAll(fd: number, buffer: Buffer): void {
  let offset = 0;
  const deadline = Date.now() + 10_000;
  while (offset < buffer.length) {
    try {
      offset += writeSync(fd, buffer, offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN" || Date.now() > deadline) throw error;
      Atomics.wait(pause, 0, 0, 2);
    }
  }
}

export interface LogFileOptions {
  /** Rotate before a line would take the file past this size (0: never). */
  maxBytes: number;
  /** Files kept in all: quired.log and quired.log.1 ... quired.log.(files-1). */
  files: number;
}

/** quired.log, owned by the broker: appended a line at a time, rotated by size, reopened on SIGHUP. */
export class LogFile {
  readonly path: string;
  readonly #options: LogFileOptions;
  #fd: number | undefined;
  #size = 0;

  constructor(path: string, options: LogFileOptions) {
    this.path = path;
    this.#options = { maxBytes: Math.max(0, options.maxBytes), files: Math.max(1, Math.floor(options.files)) };
    this.#open();
  }

  /** Appends one line (a newline is added); rotates first when the line would take the file past maxBytes. */
  writeLine(line: string): void {
    if (this.#fd === undefined) return;
    const buffer = Buffer.from(line.endsWith("\n") ? line : line + "\n");
    const { maxBytes } = this.#options;
    try {
      if (maxBytes > 0 && this.#size > 0 && this.#size + buffer.length > maxBytes) this.rotate();
      writeAll(this.#fd!, buffer);
      this.#size += buffer.length;
    } catch {
      // A log that cannot be written must never take the daemon down.
    }
  }

  /** quired.log -> quired.log.1 -> ... ; the oldest beyond `files` is removed; a new quired.log is opened. */
  rotate(): void {
    this.#close();
    const { files } = this.#options;
    const name = (i: number) => (i === 0 ? this.path : `${this.path}.${i}`);
    try {
      rmSync(name(files - 1), { force: true });
      for (let i = files - 2; i >= 0; i--) if (existsSync(name(i))) renameSync(name(i), name(i + 1));
    } catch {}
    this.#open();
  }

  /** Closes and reopens the path: after an external logrotate moved the file away (SIGHUP). */
  reopen(): void {
    this.#close();
    this.#open();
  }

  close(): void {
    this.#close();
  }

  #open(): void {
    this.#fd = openSync(this.path, "a", 0o600);
    this.#size = fstatSync(this.#fd).size;
  }

  #close(): void {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch {}
    this.#fd = undefined;
  }
}

/** A line longer than this is written in pieces of this size (a backend gone wrong must not grow our memory). */
const MAX_LINE_BYTES = 64 * 1024;

/**
 * Copies a stream (a backend's stdout or stderr) into `write` a line at a time: a JSON object line as it
 * is, anything else (a stack trace, a native module's complaint) wrapped in one with `fallback`'s fields.
 * Resolves when the stream has ended and its last partial line is written.
 */
export function pipeLines(stream: Readable, write: (line: string) => void, fallback: () => Record<string, unknown>): Promise<void> {
  let pending = "";
  const emit = (text: string) => {
    if (text === "") return;
    if (text.startsWith("{") && text.endsWith("}")) {
      try {
        JSON.parse(text);
        return write(text);
      } catch {}
    }
    write(JSON.stringify({ time: new Date().toISOString(), ...fallback(), msg: text }));
  };
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      emit(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    while (pending.length > MAX_LINE_BYTES) {
      emit(pending.slice(0, MAX_LINE_BYTES));
      pending = pending.slice(MAX_LINE_BYTES);
    }
  });
  return new Promise((resolve) => {
    const done = () => {
      emit(pending);
      pending = "";
      resolve();
    };
    stream.once("end", done);
    stream.once("close", done);
    stream.once("error", done);
  });
}
