// quirectl: talk to quired. Exit codes: 0 done, 1 failed, 2 usage, 3 daemon unreachable.
import yargs from "yargs";
import { QUIRE_VERSION } from "../version.js";
import { daemonRestart, daemonStart, daemonStatus, daemonStop } from "./daemon.js";
import { annotate, cancelRun, listRuns, listSecrets, removeSecret, setSecret, showRun, submitRun, watchRun, type RunArgs } from "./ci.js";
import { limit, runId } from "./args.js";
import { ArgumentError } from "./errors.js";
import { showLogs, type LogsArgs } from "./logs.js";
import { ExitCode } from "./exit-codes.js";
import { daemonInstall, daemonUninstall, type LoginArgs } from "./login.js";
import { endQuietlyWhenOutputCloses } from "./output.js";
import { reportFailure } from "./failure.js";
import {
  attachSession,
  killSession,
  listSessions,
  startSession,
  tailSession,
  type AttachArgs,
  type StartArgs as SessionStartArgs,
} from "./pty.js";
import type { GlobalArgs } from "./global-args.js";
import { showStatus } from "./status.js";
import { doctor } from "./doctor.js";
import { exportGithub, type ExportArgs } from "./export.js";
import { actionAdd, type ActionAddArgs } from "./action.js";
import { showMetrics } from "./metrics.js";
import { showDaemonLog, type LogArgs } from "./daemon-log.js";
import { configGet, configList, configSet, configUnset } from "./config.js";
import { hookInstall, hookUninstall, type HookInstallArgs } from "./hook.js";
import { hookRun, type HookRunArgs } from "./hook-run.js";
import { prompt, PROMPT_SHELLS } from "./prompt.js";
import { watchRuns } from "./watch.js";
import { collectGarbage, type GcArgs } from "./gc.js";
import { rerunRun, type RerunArgs } from "./rerun.js";

export async function main(argv: string[]): Promise<number> {
  endQuietlyWhenOutputCloses();
  let exit: number = ExitCode.Ok;
  let parsed: { allowRoot?: boolean } = {};
  const run = (action: (args: never) => Promise<number>) => async (args: unknown) => {
    parsed = args as { allowRoot?: boolean };
    exit = await action(args as never);
  };
  try {
    await yargs(argv)
      .scriptName("quirectl")
      .usage("$0 <command> [options]")
      .version(QUIRE_VERSION)
      .option("home", { type: "string", describe: "The quire home (default: $QUIRE_HOME, else XDG places)", global: true })
      .option("json", { type: "boolean", default: false, describe: "One JSON document on stdout", global: true })
      .option("allow-root", {
        type: "boolean",
        default: process.env.QUIRE_ALLOW_ROOT === "1",
        describe: "Let the quired this command starts (daemon start, or any command's autostart) run as root (or set QUIRE_ALLOW_ROOT=1)",
        global: true,
      })
      .command("daemon", "Start, stop and inspect quired", (y) =>
        y
          .command(
            "start",
            "Start quired in the background",
            {},
            run((a: GlobalArgs) => daemonStart(a)),
          )
          .command(
            "stop",
            "Drain and stop quired",
            {},
            run((a: GlobalArgs) => daemonStop(a)),
          )
          .command(
            "status",
            "Is quired running?",
            {},
            run((a: GlobalArgs) => daemonStatus(a)),
          )
          .command(
            "restart",
            "Stop quired, then start it",
            {},
            run((a: GlobalArgs) => daemonRestart(a)),
          )
          // Start at login (README.md, "Run it at login").
          .command(
            "install",
            "Start quired at login: a systemd user socket and service, a launchd agent, or a logon task",
            loginOptions,
            run((a: LoginArgs) => daemonInstall(a)),
          )
          .command(
            "uninstall",
            "Remove what daemon install wrote (stopping quired where the unit ran it)",
            loginOptions,
            run((a: LoginArgs) => daemonUninstall(a)),
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
            run((a: LogArgs) => showDaemonLog(a)),
          )
          .demandCommand(1, "name a daemon command: start, stop, status, restart, log, install or uninstall"),
      )
      .command(
        "status",
        "The daemon and its backends",
        {},
        run((a: GlobalArgs) => showStatus(a)),
      )
      // Diagnosis and observation (doctor, metrics; daemon log is under daemon).
      .command(
        "doctor",
        "Check this machine and the daemon; each failure says how to fix it (exit 1 when any fails)",
        {},
        run((a: GlobalArgs) => doctor(a)),
      )
      .command(
        "metrics",
        "The daemon's metrics, Prometheus text (--json: families of samples)",
        {},
        run((a: GlobalArgs) => showMetrics(a)),
      )
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
        run((a: RunArgs & { watch: boolean }) => (a.watch ? watchRuns(a) : submitRun(a))),
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
            run((a: HookInstallArgs) => hookInstall(a)),
          )
          .command(
            "uninstall",
            "Remove quire's hooks and put back what was there, byte for byte",
            (z) =>
              z
                .option("post-commit", { type: "boolean", describe: "Only this one" })
                .option("pre-push", { type: "boolean", describe: "Only this one" }),
            run((a: GlobalArgs & { postCommit?: boolean; prePush?: boolean }) => hookUninstall(a)),
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
            run((a: HookRunArgs) => hookRun(a)),
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
        run((a: GlobalArgs & { shell?: string; print: boolean }) => prompt(a)),
      )
      .command("config", "quire's settings: notifications, the bell, hooks, watch, runs (config.yml)", (y) =>
        y
          .command(
            "get <name>",
            "One setting's value",
            (z) => z.positional("name", { type: "string", demandOption: true }),
            run((a: GlobalArgs & { name: string }) => configGet(a)),
          )
          .command(
            "set <name> <value>",
            "Set a setting in the file (comments and the rest kept)",
            (z) => z.positional("name", { type: "string", demandOption: true }).positional("value", { type: "string", demandOption: true }),
            run((a: GlobalArgs & { name: string; value: string }) => configSet(a)),
          )
          .command(
            "unset <name>",
            "Take a setting out of the file: its default applies",
            (z) => z.positional("name", { type: "string", demandOption: true }),
            run((a: GlobalArgs & { name: string }) => configUnset(a)),
          )
          .command(
            "list",
            "Every setting, its value and where it comes from",
            {},
            run((a: GlobalArgs) => configList(a)),
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
        run((a: WithId & Omit<RerunArgs, "id">) => rerunRun({ ...a, id: runId(a.id) })),
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
            run((a: ActionAddArgs) => actionAdd(a)),
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
            run((a: ExportArgs) => exportGithub(a)),
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
            run((a: WithId) => showRun({ ...a, id: runId(a.id) })),
          ),
        run((a: GlobalArgs & { limit: string }) => listRuns({ ...a, limit: limit(a.limit) })),
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
        run((a: Omit<LogsArgs, "id"> & WithId) => showLogs({ ...a, id: runId(a.id) })),
      )
      .command(
        "watch <id>",
        "Show a run live until it ends",
        (y) => y.positional("id", { type: "string", demandOption: true }),
        run((a: WithId) => watchRun({ ...a, id: runId(a.id) })),
      )
      .command(
        "cancel <id>",
        "Cancel a run: every step's whole process tree ends",
        (y) => y.positional("id", { type: "string", demandOption: true }),
        run((a: WithId) => cancelRun({ ...a, id: runId(a.id) })),
      )
      .command(
        "gc",
        "Remove the runs, logs, kept workspaces and cache entries over the daemon's retention limits now, and say what that freed",
        (y) => y.option("dry-run", { type: "boolean", default: false, describe: "Remove nothing; say what would be removed" }),
        run((a: GcArgs) => collectGarbage(a)),
      )
      .command("secret", "Secrets for pipelines, encrypted at rest", (y) =>
        y
          .command(
            "set <name>",
            "Set a secret; the value is read from stdin, never from the command line",
            // A value given after the name is refused by setSecret with the way to give it, not as an unknown argument.
            (z) => z.positional("name", { type: "string", demandOption: true }).strict(false).strictOptions(),
            run((a: GlobalArgs & { name: string; _: (string | number)[]; "--"?: string[] }) =>
              setSecret({ ...a, extra: [...a._.slice(2).map(String), ...(a["--"] ?? [])] }),
            ),
          )
          .command(
            "list",
            "Names of the secrets (never their values)",
            {},
            run((a: GlobalArgs) => listSecrets(a)),
          )
          .command(
            "rm <name>",
            "Remove a secret",
            (z) => z.positional("name", { type: "string", demandOption: true }),
            run((a: GlobalArgs & { name: string }) => removeSecret(a)),
          )
          .demandCommand(1, "name a secret command: set, list or rm"),
      )
      .command(
        "annotate <text>",
        "From inside a pipeline step: add a note to its run",
        (y) => y.positional("text", { type: "string", demandOption: true }),
        run((a: GlobalArgs & { text: string }) => annotate(a)),
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
        run((a: SessionStartArgs & { "--"?: string[] }) => startSession({ ...a, command: [...a.command, ...(a["--"] ?? [])] })),
      )
      .command(
        "ps",
        "List the running and exited sessions",
        {},
        run((a: GlobalArgs) => listSessions(a)),
      )
      .command(
        "attach <name>",
        "Use a session from this terminal (Ctrl-] detaches and leaves it running)",
        (y) =>
          y
            .positional("name", { type: "string", demandOption: true })
            .option("takeover", { type: "boolean", default: false, describe: "Become the writer even if another client is" })
            .option("read-only", { type: "boolean", default: false, describe: "Watch without typing" }),
        run((a: AttachArgs) => attachSession(a)),
      )
      .command(
        "tail <name>",
        "Print a session's recent output",
        (y) =>
          y
            .positional("name", { type: "string", demandOption: true })
            .option("follow", { alias: "f", type: "boolean", default: false, describe: "Keep printing until it exits" }),
        run((a: GlobalArgs & { name: string; follow: boolean }) => tailSession(a)),
      )
      .command(
        "kill <name>",
        "End a session's whole process tree",
        (y) => y.positional("name", { type: "string", demandOption: true }),
        run((a: GlobalArgs & { name: string }) => killSession(a)),
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
    return reportFailure(error, { argv, allowRoot: parsed.allowRoot === true });
  }
}

/** A command taking a run id, as yargs hands it over: checked by runId() before use. */
type WithId = GlobalArgs & { id: string };

const loginOptions = {
  "dry-run": { type: "boolean", default: false, describe: "Print the files and the commands, and do nothing" },
  activate: {
    type: "boolean",
    default: true,
    describe: "Run systemctl/launchctl/schtasks (--no-activate: only write or remove the files)",
  },
} as const;
