// How a step's `run` text becomes a command line: a strict shell (stop at the first failing line, and
// in bash at the first failing stage of a pipe), niced so a laptop stays usable while pipelines run.
import { accessSync, constants } from "node:fs";

/** Added to the daemon's niceness for every step (0 turns it off). */
export const DEFAULT_NICENESS = 10;

let bashPath: string | null | undefined;

function findBash(): string | null {
  if (bashPath !== undefined) return bashPath;
  bashPath = null;
  for (const candidate of ["/bin/bash", "/usr/bin/bash", "/usr/local/bin/bash", "/opt/homebrew/bin/bash"]) {
    try {
      accessSync(candidate, constants.X_OK);
      bashPath = candidate;
      break;
    } catch {}
  }
  return bashPath;
}

/** The file and arguments that run `script` the way a pipeline step runs it. */
export function stepCommand(script: string, niceness = DEFAULT_NICENESS): { file: string; args: string[] } {
  if (process.platform === "win32") {
    // No nice(1) on Windows; cmd.exe /d skips AutoRun, /s keeps the quoting of the script as written.
    return { file: process.env.ComSpec ?? "cmd.exe", args: ["/d", "/s", "/c", script] };
  }
  const bash = findBash();
  const shell = bash ? [bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script] : ["/bin/sh", "-e", "-c", script];
  return niceness > 0 ? { file: "nice", args: ["-n", String(niceness), ...shell] } : { file: shell[0]!, args: shell.slice(1) };
}
