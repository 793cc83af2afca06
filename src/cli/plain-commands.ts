// The global options and the top-level commands that take nothing but them (`status`, `doctor`,
// `metrics`, `ps`), as data read by both yargs (quirectl.ts) and parsePlain() below. parsePlain()
// decides the forms people and scripts type every day without loading yargs (most of such a command's
// start); anything it is not sure of is left to yargs, so errors, help and exit codes stay yargs' own.
import type { GlobalArgs } from "./global-args.js";

/** quirectl's global options, as yargs declares them (the env is read when they are asked for). */
export function globalOptions() {
  return {
    home: { type: "string", describe: "The quire home (default: $QUIRE_HOME, else XDG places)", global: true },
    json: { type: "boolean", default: false, describe: "One JSON document on stdout", global: true },
    "allow-root": {
      type: "boolean",
      default: process.env.QUIRE_ALLOW_ROOT === "1",
      describe: "Let the quired this command starts (daemon start, or any command's autostart) run as root (or set QUIRE_ALLOW_ROOT=1)",
      global: true,
    },
  } as const;
}

export interface PlainCommand {
  name: string;
  describe: string;
  handler: (args: GlobalArgs) => Promise<number>;
}

export const PLAIN_COMMANDS: readonly PlainCommand[] = [
  { name: "status", describe: "The daemon and its backends", handler: async (a) => (await import("./status.js")).showStatus(a) },
  {
    name: "doctor",
    describe: "Check this machine and the daemon; each failure says how to fix it (exit 1 when any fails)",
    handler: async (a) => (await import("./doctor.js")).doctor(a),
  },
  {
    name: "metrics",
    describe: "The daemon's metrics, Prometheus text (--json: families of samples)",
    handler: async (a) => (await import("./metrics.js")).showMetrics(a),
  },
  { name: "ps", describe: "List the running and exited sessions", handler: async (a) => (await import("./pty.js")).listSessions(a) },
];

/** What the handler of a plain command gets: the fields yargs hands over for the same argv. */
export interface PlainParse {
  command: PlainCommand;
  args: GlobalArgs & { _: string[]; "allow-root": boolean };
}

/**
 * The command and options of `argv` when it is a plain command followed only by exact global flags
 * (`--json`, `--allow-root`, `--home DIR`, `--home=DIR`, each at most once); otherwise undefined, and
 * yargs decides (a negated or valued boolean, a repeated flag, a value that looks like a flag, `--help`...).
 */
export function parsePlain(argv: readonly string[]): PlainParse | undefined {
  const command = PLAIN_COMMANDS.find((c) => c.name === argv[0]);
  if (command === undefined) return undefined;
  const options = globalOptions();
  let json: boolean | undefined;
  let allowRoot: boolean | undefined;
  let home: string | undefined;
  for (let i = 1; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--json" && json === undefined) json = true;
    else if (word === "--allow-root" && allowRoot === undefined) allowRoot = true;
    else if (word === "--home" && home === undefined && i + 1 < argv.length && !argv[i + 1]!.startsWith("-")) home = argv[++i]!;
    else if (word.startsWith("--home=") && home === undefined && !word.slice(7).startsWith("-")) home = word.slice(7);
    else return undefined;
  }
  allowRoot ??= options["allow-root"].default;
  const args = { _: [command.name], json: json ?? options.json.default, allowRoot, "allow-root": allowRoot };
  return { command, args: home === undefined ? args : { ...args, home } };
}
