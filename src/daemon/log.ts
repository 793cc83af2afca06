// Structured logs: one JSON object per line. The broker writes quired.log; backends write to their
// stderr, which the broker points at the same file.
import { writeSync } from "node:fs";

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface Logger {
  log(level: LogLevel, msg: string, fields?: Record<string, unknown>): void;
}

/** A logger appending JSON lines to a file descriptor; each line is one write, so lines never interleave. */
export function jsonLogger(fd: number, component: string): Logger {
  return {
    log(level, msg, fields) {
      const line = JSON.stringify({ time: new Date().toISOString(), level, component, pid: process.pid, msg, ...fields }, bigintAsString);
      try {
        writeSync(fd, line + "\n");
      } catch {
        // A log that cannot be written must never take the daemon down.
      }
    },
  };
}

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
