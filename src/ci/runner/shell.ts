// How a step's `run` text becomes a command line: a strict shell (stop at the first failing line, and
// in bash at the first failing stage of a pipe), niced so a laptop stays usable while pipelines run.
//
// What a step starts in the background must live on until its job ends (a server the next steps test
// against). But when the leader of a terminal's session exits, the kernel sends SIGHUP to the
// terminal's foreground process group, and a shell without job control keeps every background job it
// starts in its own group, the foreground one: run as the session leader, the step's shell would take
// them all down as it exits (ignoring SIGHUP does not help: node, for one, resets it at start). So the
// leader is a second shell with job control, which runs the step's shell as its foreground job (in a
// process group of its own, with its background jobs), takes the terminal back when it ends, and exits
// with its status: the SIGHUP then reaches the leader's group alone. A step's shell killed by a signal
// the leader did not get too (quire's kills reach both) is reported by that status, 128 + the signal,
// and the leader says so on the terminal.
import { accessSync, constants } from "node:fs";

/** Added to the daemon's niceness for every step (0 turns it off). */
export const DEFAULT_NICENESS = 10;

/** The session leader's script (see above): run the step's shell, then exit with its status. */
const LEADER = '"$@"; exit $?';

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

/**
 * The file and arguments that run `script` the way a pipeline step runs it. `confine` wraps the step's
 * shell (a sandbox, sandbox.ts), inside the session leader: the leader's job control needs the terminal's
 * process groups, which a pid namespace of the sandbox's own would not see.
 */
export function stepCommand(
  script: string,
  niceness = DEFAULT_NICENESS,
  confine: (shell: string[]) => string[] = (shell) => shell,
): { file: string; args: string[] } {
  if (process.platform === "win32") {
    // No nice(1) on Windows; cmd.exe /d skips AutoRun, /s keeps the quoting of the script as written.
    return { file: process.env.ComSpec ?? "cmd.exe", args: ["/d", "/s", "/c", script] };
  }
  const bash = findBash();
  const shell = bash ? [bash, "--noprofile", "--norc", "-eo", "pipefail", "-c", script] : ["/bin/sh", "-e", "-c", script];
  // Not `exec "$@"`, nor "$@" alone, which a shell runs by exec: the leader must outlive the step's shell.
  const leader = bash ? [bash, "--noprofile", "--norc", "-m", "-c", LEADER, "quire-step"] : ["/bin/sh", "-m", "-c", LEADER, "quire-step"];
  const line = [...leader, ...confine(shell)];
  return niceness > 0 ? { file: "nice", args: ["-n", String(niceness), ...line] } : { file: line[0]!, args: line.slice(1) };
}
