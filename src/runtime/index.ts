// quire/runtime: commands in a PTY or with pipes, losing no output, ending whole process trees.
import { debuglog } from "node:util";
import { ConptySource } from "./conpty-source.js";
import { resolveOptions, type SpawnOptions } from "./options.js";
import { PipeSource } from "./pipe-source.js";
import { PtySource } from "./pty-source.js";
import type { ProcessSource } from "./source.js";
import { Subprocess, type RunResult } from "./subprocess.js";
import { resolveCommand } from "./which.js";

export { Subprocess, type RunResult } from "./subprocess.js";
export type { SpawnOptions } from "./options.js";
export type { ExpectMatch } from "./expect.js";
export { QuireError } from "../errors.js";
export {
  RuntimeError,
  InvalidOptionError,
  CommandNotFoundError,
  SpawnError,
  ExpectTimeoutError,
  ExpectEndedError,
  ProcessEndedError,
} from "./errors.js";

/** NODE_DEBUG=quire prints each spawn. */
const debug = debuglog("quire");

/** Starts `file` with `args`; throws QUIRE_ERR_INVALID_OPTION, QUIRE_ERR_COMMAND_NOT_FOUND or QUIRE_ERR_SPAWN. */
export function spawn(file: string, args: readonly string[] = [], options: SpawnOptions = {}): Subprocess {
  const resolved = resolveOptions(options);
  const path = resolveCommand(file, resolved.env, resolved.cwd);
  let source: ProcessSource;
  if (!resolved.pty) source = new PipeSource(path, args, resolved);
  else if (process.platform === "win32") source = new ConptySource(path, args, resolved);
  else source = new PtySource(path, args, resolved);
  debug("runtime: spawned %s as pid %d (%s)", path, source.identity.pid, resolved.pty ? "pty" : "pipes");
  return new Subprocess(source, resolved);
}

/** Runs `file` to completion: `{ exitCode, signal, output, timedOut, ... }`. */
export function run(file: string, args: readonly string[] = [], options: SpawnOptions = {}): Promise<RunResult> {
  return spawn(file, args, options).wait();
}
