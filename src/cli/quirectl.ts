// quirectl: talk to quired. Exit codes: 0 done, 1 failed, 2 usage, 3 daemon unreachable.
//
// This is the command table: names, descriptions and the options each command declares. A command's
// handler and everything it needs (the client, the wire, yaml, the live view...) are imported when that
// command runs, so each invocation loads what it was asked for and nothing else; `--help` loads yargs
// alone. Only what every command uses is imported at the top.
import type { ActionAddArgs } from "./action.js";
import type { RunArgs } from "./run.js";
import type { LogArgs } from "./daemon-log.js";
import { ExitCode } from "./exit-codes.js";
import type { ExportArgs } from "./export.js";
import type { GcArgs } from "./gc.js";
import type { GlobalArgs } from "./global-args.js";
import type { HookInstallArgs } from "./hook.js";
import type { HookRunArgs } from "./hook-run.js";
import type { LoginArgs } from "./login.js";
import type { LogsArgs } from "./logs.js";
import { endQuietlyWhenOutputCloses } from "./output.js";
import { globalOptions, PLAIN_COMMANDS, parsePlain } from "./plain-commands.js";
import { PROMPT_SHELLS } from "./prompt-shells.js";
import type { AttachArgs, StartArgs as SessionStartArgs } from "./pty.js";
import type { RerunArgs } from "./rerun.js";
import type { UiArgs } from "./ui.js";
import { QUIRE_VERSION } from "../version.js";

export async function main(argv: string[]): Promise<number> {
  endQuietlyWhenOutputCloses();
  // Loading yargs costs more than node's own start (some 60 modules; its string-width makes an
  // Intl.Segmenter as it loads, ICU's first use), so the bare version probe scripts run is answered
  // without it, with the line and exit code yargs gives.
  if (argv.length === 1 && argv[0] === "--version") {
    process.stdout.write(`${QUIRE_VERSION}\n`);
    return ExitCode.Ok;
  }
  let exit: number = ExitCode.Ok;
  let parsed: { allowRoot?: boolean } = {};
  const run = (action: (args: never) => Promise<number>) => async (args: unknown) => {
    parsed = args as { allowRoot?: boolean };
    exit = await action(args as never);
  };
  // A plain command with its table's options (plain-commands.ts) is the same command yargs would run.
  const plainCommand = (name: string) => {
    const command = PLAIN_COMMANDS.find((c) => c.name === name)!;
    return [command.name, command.describe, {}, run(command.handler)] as const;
  };
  try {
    const plain = parsePlain(argv);
    if (plain !== undefined) {
      await run(plain.command.handler)(plain.args);
      return exit;
    }
    const [{ default: yargs }, { ArgumentError }] = await Promise.all([import("yargs"), import("./errors.js")]);
    await yargs(argv)
      .scriptName("quirectl")
      .usage("$0 <command> [options]")
      .version(QUIRE_VERSION)
      .options(globalOptions())
      .command("daemon", "Start, stop and inspect quired", (y) =>
        y
          .command(
            "start",
            "Start quired in the background",
            {},
            run(async (a: GlobalArgs) => (await import("./daemon.js")).daemonStart(a)),
          )
          .command(
            "stop",
            "Drain and stop quired",
            {},
            run(async (a: GlobalArgs) => (await import("./daemon.js")).daemonStop(a)),
          )
          .command(
            "status",
            "Is quired running?",
            {},
            run(async (a: GlobalArgs) => (await import("./daemon.js")).daemonStatus(a)),
          )
          .command(
            "restart",
            "Stop quired, then start it",
            {},
            run(async (a: GlobalArgs) => (await import("./daemon.js")).daemonRestart(a)),
          )
          // Start at login (README.md, "Run it at login").
          .command(
            "install",
            "Start quired at login: a systemd user socket and service, a launchd agent, or a logon task",
            loginOptions,
            run(async (a: LoginArgs) => (await import("./login.js")).daemonInstall(a)),
          )
          .command(
            "uninstall",
            "Remove what daemon install wrote (stopping quired where the unit ran it)",
            loginOptions,
            run(async (a: LoginArgs) => (await import("./login.js")).daemonUninstall(a)),
          )
          .command(
            "log",
            "The daemon's log, readably (--json: the JSON lines as they are)",
            (z) =>
              z
                .option("follow", {
                  alias: "f",
                  type: "boolean",
                  default: false,
                  describe: "Keep printing, across rotations, until interrupted",
                })
                .option("lines", { alias: "n", type: "number", describe: "Only the last N lines of quired.log" }),
            run(async (a: LogArgs) => (await import("./daemon-log.js")).showDaemonLog(a)),
          )
          .demandCommand(1, "name a daemon command: start, stop, status, restart, log, install or uninstall"),
      )
      .command(...plainCommand("status"))
      // Diagnosis and observation (doctor, metrics; daemon log is under daemon).
      .command(...plainCommand("doctor"))
      .command(...plainCommand("metrics"))
      .command(
        "run [file]",
        "Run a pipeline (default quire.yml) on a snapshot of its tree, uncommitted changes included",
        (y) =>
          y
            .positional("file", { type: "string", describe: "The pipeline file" })
            .option("repo", { type: "string", describe: "Record the run under this repository (default: the file's git work tree)" })
            .option("ref", { type: "string", describe: "Record the run under this ref (default: the work tree's branch)" })
            .option("workflow", { type: "string", describe: "Run the repository's GitHub workflow .github/workflows/NAME.yml" })
            .option("job", {
              type: "string",
              array: true,
              describe: "Run only this job (a name, or a workflow job's id: every leg) and what it needs; repeatable",
            })
            .option("matrix", { type: "string", array: true, describe: "Run only the matrix legs with this value, key=value; repeatable" })
            .option("commit", {
              type: "string",
              describe: "Run this commit's tree and pipeline file (a commit id, branch or tag) instead of the working copy",
            })
            .option("wait", {
              type: "boolean",
              default: false,
              describe: "Show the run until it ends; exit 0 complete, 1 failed or cancelled",
            })
            .option("cache", {
              type: "boolean",
              default: true,
              describe: "Give a job whose inputs match a job that completed before that job's result (--no-cache: run every job)",
            })
            .option("watch", {
              type: "boolean",
              default: false,
              describe:
                "Run again whenever the files change (each run supersedes the live one) until Ctrl-C; --json: a JSON line per run as it ends",
            }),
        run(async (a: RunArgs & { watch: boolean }) =>
          a.watch ? (await import("./watch.js")).watchRuns(a) : (await import("./run.js")).submitRun(a),
        ),
      )
      .command("hook", "Run the pipeline on git commit and push, in the background (README: In your daily flow)", (y) =>
        y
          .command(
            "install",
            "Install quire's git hooks in this repository, beside the hooks it has (default: what hooks.* in the config say)",
            (z) =>
              z
                .option("post-commit", { type: "boolean", describe: "After each commit, run what was committed" })
                .option("pre-push", { type: "boolean", describe: "Before each push, run what is pushed" })
                .option("wait", { type: "boolean", describe: "The pre-push hook waits for the run and refuses the push when it fails" })
                .option("file", {
                  type: "string",
                  describe: "The pipeline file (default: quire.yml, else the workflows whose on.push/pull_request take the push)",
                }),
            run(async (a: HookInstallArgs) => (await import("./hook.js")).hookInstall(a)),
          )
          .command(
            "uninstall",
            "Remove quire's hooks and put back what was there, byte for byte",
            (z) =>
              z
                .option("post-commit", { type: "boolean", describe: "Only this one" })
                .option("pre-push", { type: "boolean", describe: "Only this one" }),
            run(async (a: GlobalArgs & { postCommit?: boolean; prePush?: boolean }) => (await import("./hook.js")).hookUninstall(a)),
          )
          .command(
            "run <name> [remote] [url]",
            "What quire's hook scripts run (git runs them): submit the committed or pushed tree",
            (z) =>
              z
                .positional("name", { type: "string", choices: ["post-commit", "pre-push"], demandOption: true })
                .positional("remote", { type: "string" })
                .positional("url", { type: "string" })
                .option("refs", { type: "string", describe: "pre-push: the lines git wrote on the hook's stdin" })
                .option("file", { type: "string", describe: "The pipeline file, relative to the repository's root" })
                .option("wait", { type: "boolean", default: false, describe: "Wait for the runs; exit 1 when one does not complete" }),
            run(async (a: HookRunArgs) => (await import("./hook-run.js")).hookRun(a)),
          )
          .demandCommand(1, "name a hook command: install, uninstall or run"),
      )
      .command(
        "prompt",
        "This branch's newest run in your prompt, at no process per prompt: --shell bash|zsh|fish|sh prints the snippet (tmux, starship: their config)",
        (y) =>
          y
            .option("shell", { type: "string", choices: PROMPT_SHELLS, describe: "Print the snippet for this shell or tool" })
            .option("print", {
              type: "boolean",
              default: false,
              describe: "Print the segment for this directory (what the snippets show)",
            }),
        run(async (a: GlobalArgs & { shell?: string; print: boolean }) => (await import("./prompt.js")).prompt(a)),
      )
      .command("config", "quire's settings: notifications, the bell, hooks, watch, runs (config.yml)", (y) =>
        y
          .command(
            "get <name>",
            "One setting's value",
            (z) => z.positional("name", { type: "string", demandOption: true }),
            run(async (a: GlobalArgs & { name: string }) => (await import("./config.js")).configGet(a)),
          )
          .command(
            "set <name> <value>",
            "Set a setting in the file (comments and the rest kept)",
            (z) => z.positional("name", { type: "string", demandOption: true }).positional("value", { type: "string", demandOption: true }),
            run(async (a: GlobalArgs & { name: string; value: string }) => (await import("./config.js")).configSet(a)),
          )
          .command(
            "unset <name>",
            "Take a setting out of the file: its default applies",
            (z) => z.positional("name", { type: "string", demandOption: true }),
            run(async (a: GlobalArgs & { name: string }) => (await import("./config.js")).configUnset(a)),
          )
          .command(
            "list",
            "Every setting, its value and where it comes from",
            {},
            run(async (a: GlobalArgs) => (await import("./config.js")).configList(a)),
          )
          .demandCommand(1, "name a config command: get, set, unset or list"),
      )
      .command(
        "rerun <id>",
        "Run a finished run's exact tree again, with the pipeline as it ran",
        (y) =>
          y
            .positional("id", { type: "string", demandOption: true })
            .option("failed", {
              type: "boolean",
              default: false,
              describe: "Only the jobs that failed or were cancelled, and the jobs that need them",
            })
            .option("cache", {
              type: "boolean",
              default: true,
              describe: "Let the job cache serve jobs whose inputs ran before (--no-cache: run every job)",
            })
            .option("wait", {
              type: "boolean",
              default: false,
              describe: "Show the run until it ends; exit 0 complete, 1 failed or cancelled",
            }),
        run(async (a: WithId & Omit<RerunArgs, "id">) => (await import("./rerun.js")).rerunRun({ ...a, id: await checkedRunId(a.id) })),
      )
      .command("action", "Actions from other repositories, kept on this machine for workflows to use", (y) =>
        y
          .command(
            "add <action>",
            "Fetch owner/repo@ref once into quire's action cache (nothing is downloaded while a run runs)",
            (z) =>
              z
                .positional("action", { type: "string", demandOption: true, describe: "owner/repo@ref or owner/repo/path@ref" })
                .option("from", { type: "string", describe: "Clone from this URL or path instead of GitHub" }),
            run(async (a: ActionAddArgs) => (await import("./action.js")).actionAdd(a)),
          )
          .demandCommand(1, "name an action command: add"),
      )
      .command("export", "Write the pipeline in another CI's format", (y) =>
        y
          .command(
            "github [file]",
            "Write .github/workflows/quire.yml running quire.yml's jobs on GitHub (--check: exit 1 when the file is stale)",
            (z) =>
              z.positional("file", { type: "string", describe: "The pipeline file (default quire.yml)" }).option("check", {
                type: "boolean",
                default: false,
                describe: "Write nothing; exit 1 when the checked-in workflow differs from what export writes",
              }),
            run(async (a: ExportArgs) => (await import("./export.js")).exportGithub(a)),
          )
          .demandCommand(1, "name a format: github"),
      )
      .command(
        "runs",
        "Runs, newest first",
        (y) =>
          y.option("limit", { type: "string", default: "50", describe: "At most this many" }).command(
            "show <id>",
            "One run: jobs, steps, why it failed",
            (z) => z.positional("id", { type: "string", demandOption: true }),
            run(async (a: WithId) => (await import("./ci.js")).showRun({ ...a, id: await checkedRunId(a.id) })),
          ),
        run(async (a: GlobalArgs & { limit: string }) =>
          (await import("./ci.js")).listRuns({ ...a, limit: (await import("./args.js")).limit(a.limit) }),
        ),
      )
      .command(
        "logs <id>",
        "The bytes of a run's step logs",
        (y) =>
          y
            .positional("id", { type: "string", demandOption: true })
            .option("job", { type: "string", describe: "Only this job" })
            .option("step", { type: "string", describe: "Only this step" })
            .option("follow", { alias: "f", type: "boolean", default: false, describe: "Keep printing until the run ends" })
            .option("raw", { type: "boolean", default: false, describe: "The bytes alone: no header before each step's log" }),
        run(async (a: Omit<LogsArgs, "id"> & WithId) => (await import("./logs.js")).showLogs({ ...a, id: await checkedRunId(a.id) })),
      )
      .command(
        "watch <id>",
        "Show a run live until it ends",
        (y) => y.positional("id", { type: "string", demandOption: true }),
        run(async (a: WithId) => (await import("./ci.js")).watchRun({ ...a, id: await checkedRunId(a.id) })),
      )
      .command(
        "ui",
        "The runs page in a browser: every run, its jobs and its logs, live (served on loopback; prints the URL and opens it)",
        (y) =>
          y
            .option("port", { type: "string", describe: "Serve it on this port (default: ui.port, else a free one)" })
            .option("open", { type: "boolean", default: true, describe: "Open it in the default browser (--no-open: print the URL only)" }),
        run(async (a: UiArgs) => (await import("./ui.js")).ui(a)),
      )
      .command(
        "cancel <id>",
        "Cancel a run: every step's whole process tree ends",
        (y) => y.positional("id", { type: "string", demandOption: true }),
        run(async (a: WithId) => (await import("./ci.js")).cancelRun({ ...a, id: await checkedRunId(a.id) })),
      )
      .command(
        "gc",
        "Remove the runs, logs, kept workspaces and cache entries over the daemon's retention limits now, and say what that freed",
        (y) => y.option("dry-run", { type: "boolean", default: false, describe: "Remove nothing; say what would be removed" }),
        run(async (a: GcArgs) => (await import("./gc.js")).collectGarbage(a)),
      )
      .command("secret", "Secrets for pipelines, encrypted at rest", (y) =>
        y
          .command(
            "set <name>",
            "Set a secret; the value is read from stdin, never from the command line",
            // A value given after the name is refused by setSecret with the way to give it, not as an unknown argument.
            (z) => z.positional("name", { type: "string", demandOption: true }).strict(false).strictOptions(),
            run(async (a: GlobalArgs & { name: string; _: (string | number)[]; "--"?: string[] }) =>
              (await import("./ci.js")).setSecret({ ...a, extra: [...a._.slice(2).map(String), ...(a["--"] ?? [])] }),
            ),
          )
          .command(
            "list",
            "Names of the secrets (never their values)",
            {},
            run(async (a: GlobalArgs) => (await import("./ci.js")).listSecrets(a)),
          )
          .command(
            "rm <name>",
            "Remove a secret",
            (z) => z.positional("name", { type: "string", demandOption: true }),
            run(async (a: GlobalArgs & { name: string }) => (await import("./ci.js")).removeSecret(a)),
          )
          .demandCommand(1, "name a secret command: set, list or rm"),
      )
      .command(
        "annotate <text>",
        "From inside a pipeline step: add a note to its run",
        (y) => y.positional("text", { type: "string", demandOption: true }),
        run(async (a: GlobalArgs & { text: string }) => (await import("./ci.js")).annotate(a)),
      )
      .command(
        "start <name> [command..]",
        "Start a long-lived command in a terminal: quirectl start NAME -- COMMAND [ARGS...]",
        (y) =>
          y
            .positional("name", { type: "string", demandOption: true })
            .positional("command", { type: "string", array: true, default: [] as string[] })
            .option("cwd", { type: "string", describe: "Working directory (default: here)" })
            .option("env", { type: "string", array: true, default: [] as string[], describe: "NAME=VALUE, repeatable" }),
        run(async (a: SessionStartArgs & { "--"?: string[] }) =>
          (await import("./pty.js")).startSession({ ...a, command: [...a.command, ...(a["--"] ?? [])] }),
        ),
      )
      .command(...plainCommand("ps"))
      .command(
        "attach <name>",
        "Use a session from this terminal (Ctrl-] detaches and leaves it running)",
        (y) =>
          y
            .positional("name", { type: "string", demandOption: true })
            .option("takeover", { type: "boolean", default: false, describe: "Become the writer even if another client is" })
            .option("read-only", { type: "boolean", default: false, describe: "Watch without typing" }),
        run(async (a: AttachArgs) => (await import("./pty.js")).attachSession(a)),
      )
      .command(
        "tail <name>",
        "Print a session's recent output",
        (y) =>
          y
            .positional("name", { type: "string", demandOption: true })
            .option("follow", { alias: "f", type: "boolean", default: false, describe: "Keep printing until it exits" }),
        run(async (a: GlobalArgs & { name: string; follow: boolean }) => (await import("./pty.js")).tailSession(a)),
      )
      .command(
        "kill <name>",
        "End a session's whole process tree",
        (y) => y.positional("name", { type: "string", demandOption: true }),
        run(async (a: GlobalArgs & { name: string }) => (await import("./pty.js")).killSession(a)),
      )
      .demandCommand(1, "name a command; see quirectl --help")
      .parserConfiguration({ "populate--": true })
      .strict()
      .fail((message, error) => {
        if (error) throw error;
        throw new ArgumentError(message);
      })
      .parseAsync();
    return exit;
  } catch (error) {
    return (await import("./failure.js")).reportFailure(error, { argv, allowRoot: parsed.allowRoot === true });
  }
}

/** A command taking a run id, as yargs hands it over: checked by checkedRunId() before use. */
type WithId = GlobalArgs & { id: string };

/** The run id a command was given, checked (a usage error when it is not one). */
async function checkedRunId(id: string): Promise<number> {
  return (await import("./args.js")).runId(id);
}

const loginOptions = {
  "dry-run": { type: "boolean", default: false, describe: "Print the files and the commands, and do nothing" },
  activate: {
    type: "boolean",
    default: true,
    describe: "Run systemctl/launchctl/schtasks (--no-activate: only write or remove the files)",
  },
} as const;
