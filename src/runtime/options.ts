// spawn()/run() options, validated once: a bad option names itself and its value.
import { statSync } from "node:fs";
import { InvalidOptionError } from "./errors.js";

export interface SpawnOptions {
  /** Run in a pseudo-terminal (default) or with pipes (stdout and stderr merged). */
  pty?: boolean;
  cwd?: string;
  /** Variables to set on top of the inherited ones; `undefined` removes one. */
  env?: Record<string, string | undefined>;
  /** Inherit the parent's environment (default true), nothing (false), or only the names listed. */
  inheritEnv?: boolean | readonly string[];
  cols?: number;
  rows?: number;
  /** Kill the tree after this long: the result says timedOut "wall". */
  timeoutMs?: number;
  /** Kill the tree after this long without output: timedOut "idle". */
  idleTimeoutMs?: number;
  /** Between the interrupt and SIGKILL when killing the tree (default 2000). */
  killGraceMs?: number;
  /** Output kept in memory for the result: the head and the tail, with a marker for what was dropped (default 16 MiB). */
  maxOutputBytes?: number;
  /** Append every byte of output to this file. */
  logFile?: string;
  /**
   * What the command leaves running when it exits: "end" it before the exit is reported (default), or
   * "keep" it running, with the exit reported once the command's own output is in and kill() ending
   * what is left later. "keep" needs a terminal: pipes cannot tell the command's output from theirs.
   */
  leftovers?: "end" | "keep";
}

export interface ResolvedOptions {
  pty: boolean;
  cwd: string;
  env: Record<string, string>;
  cols: number;
  rows: number;
  timeoutMs: number | undefined;
  idleTimeoutMs: number | undefined;
  killGraceMs: number;
  maxOutputBytes: number;
  logFile: string | undefined;
  leftovers: "end" | "keep";
}

export function resolveOptions(options: SpawnOptions): ResolvedOptions {
  const cwd = options.cwd ?? process.cwd();
  let isDir = false;
  try {
    isDir = statSync(cwd).isDirectory();
  } catch {}
  if (!isDir) throw new InvalidOptionError("cwd", cwd, "an existing directory");
  const pty = options.pty ?? true;
  return {
    pty,
    cwd,
    env: buildEnv(options, pty),
    cols: positiveInt("cols", options.cols, 80),
    rows: positiveInt("rows", options.rows, 24),
    timeoutMs: optionalDuration("timeoutMs", options.timeoutMs),
    idleTimeoutMs: optionalDuration("idleTimeoutMs", options.idleTimeoutMs),
    killGraceMs: optionalDuration("killGraceMs", options.killGraceMs) ?? 2_000,
    maxOutputBytes: positiveInt("maxOutputBytes", options.maxOutputBytes, 16 * 1024 * 1024),
    logFile: options.logFile,
    leftovers: leftoversOption(options.leftovers, pty),
  };
}

function leftoversOption(value: SpawnOptions["leftovers"], pty: boolean): "end" | "keep" {
  if (value === undefined || value === "end") return "end";
  if (value !== "keep") throw new InvalidOptionError("leftovers", value, `"end" or "keep"`);
  if (!pty)
    throw new InvalidOptionError(
      "leftovers",
      value,
      `"end" with pty: false (pipes cannot tell the command's own output from its leftovers')`,
    );
  return value;
}

function buildEnv(options: SpawnOptions, pty: boolean): Record<string, string> {
  const inherit = options.inheritEnv ?? true;
  if (inherit !== true && inherit !== false && !Array.isArray(inherit))
    throw new InvalidOptionError("inheritEnv", inherit, "true, false or a list of names");
  const env: Record<string, string> = {};
  const parent = process.env;
  const names = inherit === true ? Object.keys(parent) : inherit === false ? [] : inherit;
  for (const name of names) if (parent[name] !== undefined) env[name] = parent[name]!;
  if (pty && env.TERM === undefined) env.TERM = "xterm-256color";
  for (const [name, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[name];
    else if (typeof value !== "string") throw new InvalidOptionError(`env.${name}`, value, "a string or undefined");
    else env[name] = value;
  }
  return env;
}

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new InvalidOptionError(name, value, "a positive integer");
  return value;
}

function optionalDuration(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value < 0) throw new InvalidOptionError(name, value, "a number of milliseconds, 0 or more");
  return value;
}
