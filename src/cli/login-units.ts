// What `quirectl daemon install` writes and runs, per platform, as plain data: a systemd user socket and
// service (Linux), a launchd agent (macOS), a logon task (Windows). Nothing here touches the system;
// login.ts prints or performs the steps. native-notes/autostart.md explains each mechanism.
import { homedir } from "node:os";
import { posix, win32 } from "node:path";
import type { Places } from "../core/places.js";
import type { QuiredCommand } from "../core/quired-command.js";
import { LoginUnsupportedError, LoginValueError } from "./errors.js";

export type Step =
  | { action: "write"; path: string; contents: string }
  | { action: "remove"; path: string }
  /** `mayFail`: a failure is reported and the next steps still run (e.g. stopping what is not loaded). */
  | { action: "run"; argv: string[]; mayFail?: boolean };

export interface LoginInputs {
  platform: NodeJS.Platform;
  places: Places;
  /** quired's command line, from quiredCommand(): the same one autostart runs. */
  command: QuiredCommand;
  /** Variables the unit pins, in order: a value to set, or undefined to unset. */
  environment: [name: string, value: string | undefined][];
  /** Where the files go is read from here (QUIRE_SYSTEMD_USER_DIR, XDG_CONFIG_HOME, ...). */
  env: NodeJS.ProcessEnv;
  uid: number;
}

export const SYSTEMD_SOCKET = "quired.socket";
export const SYSTEMD_SERVICE = "quired.service";
export const LAUNCHD_LABEL = "quire.quired";
export const WINDOWS_TASK = "quired";

/**
 * The environment a unit carries: PATH (so what quired runs finds the user's tools) and, without a quire
 * home, the variables that decide where the sockets and data go, as the installing shell has them, so
 * quired computes the same places as quirectl (and the path quired.socket listens on).
 */
export function unitEnvironment(places: Places, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): [string, string | undefined][] {
  const names = ["PATH", ...(places.home ? [] : platform === "win32" ? ["LOCALAPPDATA"] : ["XDG_RUNTIME_DIR", "TMPDIR", "XDG_STATE_HOME"])];
  return names.map((name) => [name, env[name] || undefined]);
}

/** The files install writes (and uninstall removes), by platform. */
export function loginFiles(platform: NodeJS.Platform, env: NodeJS.ProcessEnv): string[] {
  if (platform === "linux") {
    const dir = systemdUserDir(env);
    return [posix.join(dir, SYSTEMD_SOCKET), posix.join(dir, SYSTEMD_SERVICE)];
  }
  if (platform === "darwin")
    return [posix.join(env.QUIRE_LAUNCH_AGENTS_DIR || posix.join(homedir(), "Library", "LaunchAgents"), `${LAUNCHD_LABEL}.plist`)];
  if (platform === "win32") return [win32.join(env.LOCALAPPDATA || win32.join(homedir(), "AppData", "Local"), "quire", "quired-logon.cmd")];
  throw new LoginUnsupportedError(platform);
}

/** $QUIRE_SYSTEMD_USER_DIR (for tests and packaging), else $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user. */
export function systemdUserDir(env: NodeJS.ProcessEnv): string {
  return env.QUIRE_SYSTEMD_USER_DIR || posix.join(env.XDG_CONFIG_HOME || posix.join(homedir(), ".config"), "systemd", "user");
}

export function installSteps(inputs: LoginInputs): Step[] {
  const files = loginFiles(inputs.platform, inputs.env);
  switch (inputs.platform) {
    case "linux":
      return [
        { action: "write", path: files[0]!, contents: systemdSocket(inputs) },
        { action: "write", path: files[1]!, contents: systemdService(inputs) },
        { action: "run", argv: ["systemctl", "--user", "daemon-reload"] },
        { action: "run", argv: ["systemctl", "--user", "enable", "--now", SYSTEMD_SOCKET] },
      ];
    case "darwin":
      return [
        { action: "write", path: files[0]!, contents: launchdAgent(inputs) },
        // Replacing a loaded agent: unload the old one first (fails harmlessly when none is loaded).
        { action: "run", argv: ["launchctl", "bootout", `gui/${inputs.uid}/${LAUNCHD_LABEL}`], mayFail: true },
        { action: "run", argv: ["launchctl", "bootstrap", `gui/${inputs.uid}`, files[0]!] },
      ];
    case "win32":
      return [
        { action: "write", path: files[0]!, contents: windowsLauncher(inputs) },
        {
          action: "run",
          argv: ["schtasks", "/Create", "/F", "/SC", "ONLOGON", "/RL", "LIMITED", "/TN", WINDOWS_TASK, "/TR", `"${files[0]!}"`],
        },
        { action: "run", argv: ["schtasks", "/Run", "/TN", WINDOWS_TASK] },
      ];
    default:
      throw new LoginUnsupportedError(inputs.platform);
  }
}

/** Uninstall's steps; `installed` are the files that exist now (only those are removed). */
export function uninstallSteps(platform: NodeJS.Platform, uid: number, installed: readonly string[]): Step[] {
  const removals: Step[] = installed.map((path) => ({ action: "remove", path }));
  switch (platform) {
    case "linux":
      return [
        { action: "run", argv: ["systemctl", "--user", "disable", "--now", SYSTEMD_SOCKET, SYSTEMD_SERVICE], mayFail: true },
        ...removals,
        { action: "run", argv: ["systemctl", "--user", "daemon-reload"] },
      ];
    case "darwin":
      return [{ action: "run", argv: ["launchctl", "bootout", `gui/${uid}/${LAUNCHD_LABEL}`], mayFail: true }, ...removals];
    case "win32":
      return [{ action: "run", argv: ["schtasks", "/Delete", "/F", "/TN", WINDOWS_TASK], mayFail: true }, ...removals];
    default:
      throw new LoginUnsupportedError(platform);
  }
}

const HEADER = "Written by `quirectl daemon install`; `quirectl daemon uninstall` removes it.";

function systemdSocket({ places }: LoginInputs): string {
  return `# ${SYSTEMD_SOCKET}: holds quired's socket from login; the first connection starts ${SYSTEMD_SERVICE}.
# ${HEADER}
[Unit]
Description=quire broker socket (quired.sock)

[Socket]
ListenStream=${systemdValue(places.socket)}
SocketMode=0600
DirectoryMode=0700
RemoveOnStop=yes

[Install]
WantedBy=sockets.target
`;
}

function systemdService({ command, environment }: LoginInputs): string {
  const set = environment.filter(([, value]) => value !== undefined);
  const unset = environment.filter(([, value]) => value === undefined).map(([name]) => name);
  return `# ${SYSTEMD_SERVICE}: quired, started by ${SYSTEMD_SOCKET} on the first connection (it takes the socket as fd 3).
# ${HEADER}
[Unit]
Description=quire broker (quired)
Requires=${SYSTEMD_SOCKET}
After=${SYSTEMD_SOCKET}

[Service]
Type=simple
ExecStart=${[command.file, ...command.args].map(systemdWord).join(" ")}
${set.map(([name, value]) => `Environment=${systemdQuoted(`${name}=${value}`)}\n`).join("")}${unset.length ? `UnsetEnvironment=${unset.join(" ")}\n` : ""}Restart=on-failure
# quired drains on SIGTERM (backends finish their work within their grace), so signal it alone and wait.
KillMode=mixed
TimeoutStopSec=30
`;
}

function launchdAgent({ command, environment }: LoginInputs): string {
  const set = environment.filter((e): e is [string, string] => e[1] !== undefined);
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- ${xml(HEADER)} -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>${LAUNCHD_LABEL}</string>
  <key>ProgramArguments</key>
  <array>
${[command.file, ...command.args].map((word) => `    <string>${xml(word)}</string>\n`).join("")}  </array>
  <key>EnvironmentVariables</key>
  <dict>
${set.map(([name, value]) => `    <key>${xml(name)}</key>\n    <string>${xml(value)}</string>\n`).join("")}  </dict>
  <key>RunAtLoad</key>
  <true/>
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>ThrottleInterval</key>
  <integer>30</integer>
</dict>
</plist>
`;
}

function windowsLauncher({ command, environment }: LoginInputs): string {
  return `@echo off\r
rem The logon task "${WINDOWS_TASK}" runs this. ${HEADER}\r
${environment.map(([name, value]) => `set "${name}=${cmdValue(value ?? "")}"\r\n`).join("")}${[command.file, ...command.args].map(cmdWord).join(" ")}\r
`;
}

/** A systemd setting's value: specifiers (%) escaped; a line break cannot be written. */
function systemdValue(value: string): string {
  refuseLineBreaks(value);
  return value.replace(/%/g, "%%");
}

/** One ExecStart= word: quoted unless plain; % and $ escaped (specifiers, variable expansion). */
function systemdWord(word: string): string {
  return /^[\w@+=:,./-]+$/.test(word) ? word : systemdQuoted(word).replace(/\$/g, "$$$$");
}

function systemdQuoted(value: string): string {
  return `"${systemdValue(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** cmd.exe: % doubled in a batch file; a double quote cannot be passed through, so it is refused. */
function cmdValue(value: string): string {
  refuseLineBreaks(value);
  if (value.includes('"')) throw new LoginValueError(value, "contains a double quote, which a Windows batch file cannot pass on");
  return value.replace(/%/g, "%%");
}

function cmdWord(word: string): string {
  return `"${cmdValue(word)}"`;
}

function refuseLineBreaks(value: string): void {
  if (/[\r\n]/.test(value)) throw new LoginValueError(value, "contains a line break, which a unit file cannot hold");
}
