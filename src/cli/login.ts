// quirectl daemon install|uninstall: start quired at login (a systemd user socket and service, a launchd
// agent, a logon task). --dry-run prints the files and commands and does nothing; --no-activate writes
// or removes the files and runs no systemctl/launchctl/schtasks. README.md, "Run it at login".
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { resolvePlaces, type Places } from "../core/places.js";
import { quiredCommand } from "../core/quired-command.js";
import { probeSocket } from "../core/socket-probe.js";
import { LoginCommandError, LoginDaemonRunningError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { daemonArgs, type GlobalArgs } from "./global-args.js";
import {
  installSteps,
  LAUNCHD_LABEL,
  loginFiles,
  SYSTEMD_SOCKET,
  uninstallSteps,
  unitEnvironment,
  WINDOWS_TASK,
  type Step,
} from "./login-units.js";
import { commandLine, printJson, println } from "./output.js";

export interface LoginArgs extends GlobalArgs {
  dryRun: boolean;
  /** false with --no-activate: write or remove the files only. */
  activate: boolean;
}

type Done = Step & { done: boolean; error?: string };

export async function daemonInstall(args: LoginArgs): Promise<number> {
  const platform = process.platform;
  const places = placesOf(args);
  const uid = process.getuid?.() ?? 0;
  const steps = installSteps({
    platform,
    places,
    command: quiredCommand(places, daemonArgs(args)),
    environment: unitEnvironment(places, process.env, platform),
    env: process.env,
    uid,
  });
  if (!args.dryRun && args.activate) await refuseUnmanagedDaemon(platform, uid, places);
  const done = args.dryRun ? steps.map((s) => ({ ...s, done: false })) : perform(steps, args.activate, "install");
  const notes = installNotes(platform, places, args, steps);
  print(args, "install", places, done, notes);
  return ExitCode.Ok;
}

export async function daemonUninstall(args: LoginArgs): Promise<number> {
  const platform = process.platform;
  const places = placesOf(args);
  const installed = loginFiles(platform, process.env).filter((path) => existsSync(path));
  const steps = installed.length ? uninstallSteps(platform, process.getuid?.() ?? 0, installed) : [];
  const done = args.dryRun ? steps.map((s) => ({ ...s, done: false })) : perform(steps, args.activate, "uninstall");
  const notes = installed.length
    ? platform === "win32"
      ? ["A quired the task started keeps running until you stop it: quirectl daemon stop"]
      : []
    : [`Nothing to uninstall: none of ${loginFiles(platform, process.env).join(", ")} exists.`];
  print(args, "uninstall", places, done, notes);
  return ExitCode.Ok;
}

/** The places quirectl uses, with a relative home made absolute (a unit runs elsewhere). */
function placesOf(args: GlobalArgs): Places {
  const home = args.home ?? (process.env.QUIRE_HOME || undefined);
  return resolvePlaces({ home: home ? resolve(home) : undefined });
}

/**
 * A quired started otherwise (autostart, by hand) would lose its socket to quired.socket, or make the
 * login agent's quired fail over and over: ask for it to be stopped first. One the unit manages is fine.
 */
async function refuseUnmanagedDaemon(platform: NodeJS.Platform, uid: number, places: Places): Promise<void> {
  const managed: Record<string, string[]> = {
    linux: ["systemctl", "--user", "is-active", "--quiet", SYSTEMD_SOCKET],
    darwin: ["launchctl", "print", `gui/${uid}/${LAUNCHD_LABEL}`],
    win32: ["schtasks", "/Query", "/TN", WINDOWS_TASK],
  };
  const query = managed[platform];
  if (query && spawnSync(query[0]!, query.slice(1), { stdio: "ignore", timeout: 10_000 }).status === 0) return;
  if (await probeSocket(places.socket)) throw new LoginDaemonRunningError(places.socket);
}

function perform(steps: Step[], activate: boolean, action: "install" | "uninstall"): Done[] {
  const done: Done[] = [];
  for (const [i, step] of steps.entries()) {
    if (step.action === "write") {
      mkdirSync(dirname(step.path), { recursive: true });
      writeFileSync(step.path, step.contents, { mode: 0o644 });
      done.push({ ...step, done: true });
    } else if (step.action === "remove") {
      rmSync(step.path, { force: true });
      done.push({ ...step, done: true });
    } else if (!activate) {
      done.push({ ...step, done: false });
    } else {
      const problem = run(step.argv);
      if (problem && !step.mayFail) {
        const rest = steps
          .slice(i)
          .filter((s) => s.action === "run")
          .map((s) => commandLine((s as { argv: string[] }).argv));
        const hint =
          action === "install"
            ? `the files are written; once the command works, run: ${rest.join(" && ")} (or pass --no-activate to only write the files)`
            : `pass --no-activate to only remove the files`;
        throw new LoginCommandError(step.argv, problem, hint);
      }
      done.push({ ...step, done: !problem, ...(problem ? { error: problem } : {}) });
    }
  }
  return done;
}

/** Runs a command; returns what went wrong, or undefined. */
function run(argv: string[]): string | undefined {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", timeout: 60_000 });
  if (result.error) return (result.error as NodeJS.ErrnoException).code === "ENOENT" ? `${argv[0]} not found` : result.error.message;
  if (result.status === 0) return undefined;
  return (result.stderr.trim() || result.stdout.trim() || `exit code ${result.status ?? result.signal}`).split("\n").slice(0, 5).join("; ");
}

function installNotes(platform: NodeJS.Platform, places: Places, args: LoginArgs, steps: Step[]): string[] {
  const commands = steps.filter((s): s is Extract<Step, { action: "run" }> => s.action === "run").map((s) => commandLine(s.argv));
  const notes: string[] = [];
  if (platform === "linux") {
    notes.push(
      `${SYSTEMD_SOCKET} listens on ${places.socket} from login; the first connection starts quired (quired.service).`,
      "User units run while you are logged in; to keep quired running without a session: loginctl enable-linger",
    );
  } else if (platform === "darwin") {
    notes.push(`launchd starts quired (agent ${LAUNCHD_LABEL}) at login and again if it fails.`);
  } else {
    notes.push(`The logon task ${WINDOWS_TASK} starts quired when you log on.`);
  }
  if (!args.activate && !args.dryRun) notes.push(`Not activated (--no-activate); to activate: ${commands.join(" && ")}`);
  return notes;
}

function print(args: LoginArgs, action: string, places: Places, steps: Done[], notes: string[]): void {
  if (args.json) {
    printJson({
      action,
      platform: process.platform,
      dry_run: args.dryRun,
      activate: args.activate && !args.dryRun,
      socket: places.socket,
      steps: steps.map(({ done, error, ...s }) =>
        s.action === "run"
          ? { action: s.action, argv: s.argv, command: commandLine(s.argv), may_fail: s.mayFail ?? false, done, error: error ?? null }
          : { ...s, done },
      ),
      notes,
    });
    return;
  }
  for (const step of steps) {
    if (step.action === "write") {
      println(`${args.dryRun ? "would write" : "wrote"} ${step.path}:`);
      for (const line of step.contents.replace(/\r/g, "").trimEnd().split("\n")) println(line ? `    ${line}` : "");
      println();
    } else if (step.action === "remove") {
      println(`${args.dryRun ? "would remove" : "removed"} ${step.path}`);
    } else {
      const line = commandLine(step.argv);
      if (args.dryRun) println(`would run: ${line}`);
      else if (!args.activate) println(`not run (--no-activate): ${line}`);
      else if (step.error) println(`ran: ${line} (failed, which is fine here: ${step.error})`);
      else println(`ran: ${line}`);
    }
  }
  if (args.dryRun) println(`\n--dry-run: nothing was written or run.`);
  for (const note of notes) println(note);
}
