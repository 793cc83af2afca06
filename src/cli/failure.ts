// How quirectl ends on an error: the exit code it means, the message on stderr, and with --json also one
// JSON document on stdout, `{ "error": { "code", "message" } }`, so that a script reading stdout gets an
// answer it can parse (and the code to match on) rather than nothing.
import { DaemonStartError, DaemonUnreachableError } from "../client/errors.js";
import { QuireError } from "../errors.js";
import { ArgumentError, UsageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { commandLine, printedJson, printError, printJson } from "./output.js";

export interface FailureContext {
  /** quirectl's arguments, for the command to suggest and to know whether --json was asked for. */
  argv: readonly string[];
  /** Whether this command was allowed to start a quired as root. */
  allowRoot: boolean;
}

/** Reports `error` and gives the exit code; an error that is not quire's own is thrown on (a bug: its stack helps). */
export function reportFailure(error: unknown, context: FailureContext): number {
  if (!(error instanceof QuireError)) throw error;
  const { message, hint, exit } = described(error, context);
  printError(hint ? `${message}\n${hint}` : message);
  if (wantsJson(context.argv) && !printedJson()) printJson({ error: { code: error.code, message } });
  return exit;
}

function described(error: QuireError, context: FailureContext): { message: string; hint?: string; exit: number } {
  // Only a bad argument is helped by the usage; a bad pipeline file or a command in the wrong place is not.
  if (error instanceof UsageError)
    return {
      message: error.message,
      hint: error instanceof ArgumentError ? "Run quirectl --help for usage." : undefined,
      exit: ExitCode.Usage,
    };
  // A quired that cannot be reached and one that would not start are the same to the command: there is no
  // daemon to do it (README, "Exit codes").
  if (error instanceof DaemonStartError && process.getuid?.() === 0 && !context.allowRoot) {
    // As root, quired refuses to run before anything else: say exactly what would start it.
    const again = commandLine(["quirectl", "--allow-root", ...context.argv]);
    return {
      message: `quired did not start: it refuses to run as root unless told to; run quire as your own user, or if you mean it: ${again} (or set QUIRE_ALLOW_ROOT=1)`,
      exit: ExitCode.DaemonUnreachable,
    };
  }
  if (error instanceof DaemonStartError || error instanceof DaemonUnreachableError)
    return { message: error.message, exit: ExitCode.DaemonUnreachable };
  return { message: error.message, exit: ExitCode.Failed };
}

/** Whether the command line asks for --json: its last say before `--` (what follows is a command's own). */
function wantsJson(argv: readonly string[]): boolean {
  let json = false;
  for (const [i, arg] of argv.entries()) {
    if (arg === "--") break;
    if (arg === "--json" || arg === "--json=true") json = argv[i + 1] !== "false";
    else if (arg === "--no-json" || arg === "--json=false") json = false;
  }
  return json;
}
