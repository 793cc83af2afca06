// A desktop notification for a run that ended with nobody waiting on it (a git hook's, watch mode's):
// it names the run, how it ended and, for a failure, the first failing step and its last line. Sent with
// what each desktop has: notify-send on Linux (libnotify), osascript on macOS, a toast through
// PowerShell on Windows; the text travels as arguments or environment, never inside a script.
import { run } from "../../runtime/index.js";
import type { RunView } from "../store/index.js";

export interface DesktopNotification {
  title: string;
  body: string;
  /** A failure: shown until dismissed where the desktop allows it. */
  urgent: boolean;
}

/** The body's bound: notification bubbles show a few lines. */
const BODY_MAX = 300;

const OUTCOME: Record<string, string> = { complete: "passed", failed: "failed", cancelled: "was cancelled" };

export function notificationOf(view: Pick<RunView, "id" | "pipeline" | "ref" | "repo" | "state" | "failureSummary">): DesktopNotification {
  const where = `${view.pipeline} on ${view.ref || view.repo}`;
  const lines = (view.failureSummary ?? "").split("\n").filter((line) => line.trim() !== "");
  // The summary's header says which job and step and how it ended; its last line is the step's last words.
  const failure = lines.length > 1 ? [lines[0]!.replace(/:$/, ""), lines.at(-1)!] : lines;
  const body = [where, ...failure].map(inert).join("\n");
  return {
    title: inert(`quire: run ${view.id} ${OUTCOME[view.state] ?? view.state}`),
    body: body.length > BODY_MAX ? `${body.slice(0, BODY_MAX - 1)}…` : body,
    urgent: view.state === "failed",
  };
}

export interface NotifyCommand {
  file: string;
  args: string[];
  env?: Record<string, string>;
}

// The toast, reading its text from the environment so nothing in it is ever PowerShell syntax.
const TOAST = [
  "[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime] | Out-Null",
  "$xml = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent([Windows.UI.Notifications.ToastTemplateType]::ToastText02)",
  "$text = $xml.GetElementsByTagName('text')",
  "$text.Item(0).AppendChild($xml.CreateTextNode($env:QUIRE_NOTIFY_TITLE)) | Out-Null",
  "$text.Item(1).AppendChild($xml.CreateTextNode($env:QUIRE_NOTIFY_BODY)) | Out-Null",
  "[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier('quire').Show([Windows.UI.Notifications.ToastNotification]::new($xml))",
].join("; ");

/** The command that shows `n` on `platform`'s desktop; undefined where quire knows none. */
export function notifyCommand(n: DesktopNotification, platform: NodeJS.Platform): NotifyCommand | undefined {
  if (platform === "darwin") {
    const script = ["on run argv", "display notification (item 2 of argv) with title (item 1 of argv)", "end run"];
    return { file: "osascript", args: [...script.flatMap((line) => ["-e", line]), n.title, n.body] };
  }
  if (platform === "win32") {
    return {
      file: "powershell.exe",
      args: ["-NoProfile", "-NonInteractive", "-Command", TOAST],
      env: { QUIRE_NOTIFY_TITLE: n.title, QUIRE_NOTIFY_BODY: n.body },
    };
  }
  if (platform === "linux" || platform === "freebsd" || platform === "openbsd") {
    // The body may be read as markup by the notification server: its <, > and & are escaped.
    return {
      file: "notify-send",
      args: ["--app-name=quire", `--urgency=${n.urgent ? "critical" : "normal"}`, "--", n.title, markupEscaped(n.body)],
    };
  }
  return undefined;
}

/** Whether a notification was shown, and if not why (no desktop, no notify-send, ...): an outcome, not an error. */
export type NotifyOutcome = { sent: true } | { sent: false; why: string };

/** Shows `n`, once the command has ended (at most 10 s). */
export async function sendNotification(
  n: DesktopNotification,
  options: { platform?: NodeJS.Platform; env?: NodeJS.ProcessEnv } = {},
): Promise<NotifyOutcome> {
  const platform = options.platform ?? process.platform;
  const command = notifyCommand(n, platform);
  if (!command) return { sent: false, why: `quire knows no desktop notifications on ${platform}` };
  const env = { ...(options.env ?? process.env), ...command.env };
  try {
    const result = await run(command.file, command.args, { pty: false, env, timeoutMs: 10_000 });
    if (result.exitCode === 0) return { sent: true };
    const said = result.output.trim().slice(0, 200);
    return {
      sent: false,
      why: `${command.file} ${result.timedOut ? "took over 10 s" : `exited ${result.exitCode ?? result.signal}`}${said ? `: ${said}` : ""}`,
    };
  } catch (error) {
    // Not installed, most often (notify-send is in libnotify-bin): the message says which command.
    return { sent: false, why: (error as Error).message };
  }
}

function markupEscaped(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Text from a pipeline or a step, with its control characters taken out: a bubble shows words. */
function inert(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, "");
}
