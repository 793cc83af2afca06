// quirectl daemon start|stop|status|restart.
import { probeSocket } from "../core/socket-probe.js";
import { resolvePlaces } from "../core/places.js";
import { adminCall, AdminOp } from "../client/admin-calls.js";
import { startDaemon } from "../client/autostart.js";
import { DaemonUnreachableError } from "../client/errors.js";
import { describe, isAlive } from "../runtime/processes.js";
import { ExitCode } from "./exit-codes.js";
import { formatDuration, printError, printJson, println } from "./output.js";
import { daemonArgs, type GlobalArgs } from "./global-args.js";

export async function daemonStart(args: GlobalArgs): Promise<number> {
  const places = resolvePlaces({ home: args.home });
  const running = await currentPid(args);
  if (running) {
    report(
      args,
      { running: true, started: false, pid: running, socket: places.socket },
      `quired is already running (pid ${running}) on ${places.socket}`,
    );
    return ExitCode.Ok;
  }
  const { pid } = await startDaemon({ places, args: daemonArgs(args) });
  report(
    args,
    { running: true, started: true, pid, socket: places.socket },
    `quired started (pid ${pid}) on ${places.socket}; log: ${places.logFile}`,
  );
  return ExitCode.Ok;
}

export async function daemonStop(args: GlobalArgs, options: { quiet?: boolean } = {}): Promise<number> {
  const places = resolvePlaces({ home: args.home });
  const pid = await currentPid(args);
  if (!pid) {
    if (!options.quiet) report(args, { running: false, stopped: false }, "quired is not running");
    return ExitCode.Ok;
  }
  // A quired whose pid we can see is waited for by its pid: under socket activation the socket outlives
  // it (systemd holds it), and a probe would even start the next quired.
  const seen = describe(pid);
  const identity = seen && !seen.zombie ? { pid, startTime: seen.startTime } : undefined;
  await adminCall(AdminOp.SHUTDOWN, { home: args.home });
  if (!args.json && !options.quiet) process.stderr.write(`stopping quired (pid ${pid}): backends are finishing their work...\n`);
  // Otherwise (another pid namespace), the broker closes its socket when it has drained; wait for that.
  const running = () => (identity ? Promise.resolve(isAlive(identity)) : probeSocket(places.socket, 500));
  const deadline = Date.now() + 30_000;
  while ((await running()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (await running()) {
    process.stderr.write(`quired (pid ${pid}) is still draining after 30 s; see ${places.logFile}\n`);
    return ExitCode.Failed;
  }
  if (!options.quiet) report(args, { running: false, stopped: true, pid }, `quired stopped (pid ${pid})`);
  return ExitCode.Ok;
}

export async function daemonRestart(args: GlobalArgs): Promise<number> {
  const stopped = await daemonStop(args, { quiet: true });
  if (stopped !== ExitCode.Ok) return stopped;
  return daemonStart(args);
}

export async function daemonStatus(args: GlobalArgs): Promise<number> {
  const places = resolvePlaces({ home: args.home });
  try {
    const { status } = await adminCall(AdminOp.STATUS, { home: args.home });
    const s = status!;
    report(
      args,
      { running: true, pid: s.pid, version: s.daemonVersion, uptime_ms: Number(s.uptimeMs), socket: s.socket },
      `quired ${s.daemonVersion} is running (pid ${s.pid}, up ${formatDuration(Number(s.uptimeMs))}) on ${s.socket}`,
    );
    return ExitCode.Ok;
  } catch (error) {
    if (!(error instanceof DaemonUnreachableError)) throw error;
    if (error.nobodyListening)
      report(args, { running: false, socket: places.socket }, `quired is not running (no answer on ${places.socket})`);
    else if (args.json) printJson({ running: false, socket: places.socket, errno: error.errno ?? null, error: error.message });
    else printError(error.message);
    return ExitCode.DaemonUnreachable;
  }
}

async function currentPid(args: GlobalArgs): Promise<number | undefined> {
  try {
    return (await adminCall(AdminOp.STATUS, { home: args.home })).status?.pid;
  } catch (error) {
    // Not running; but a socket we cannot use is not a reason to start another quired.
    if (error instanceof DaemonUnreachableError && error.nobodyListening) return undefined;
    throw error;
  }
}

function report(args: GlobalArgs, json: Record<string, unknown>, text: string): void {
  if (args.json) printJson(json);
  else println(text);
}
