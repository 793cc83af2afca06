// quirectl start | ps | attach | kill | tail: long-lived commands in the pty service.
import { PtyClient, type PtySession } from "../client/pty.js";
import { ExitCode } from "./exit-codes.js";
import { formatDuration, isoOrNull, printError, printJson, println, table, visible } from "./output.js";
import { daemonArgs, type GlobalArgs } from "./global-args.js";

/** Ctrl-]: leaves the session running and returns to the shell. */
const DETACH_KEY = 0x1d;

async function withClient<T>(args: GlobalArgs, use: (client: PtyClient) => Promise<T>): Promise<T> {
  const client = await PtyClient.connect({ home: args.home, daemonArgs: daemonArgs(args) });
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

export function sessionJson(s: PtySession) {
  return {
    name: s.name,
    state: s.state,
    pid: s.pid,
    command: s.command,
    cwd: s.cwd,
    started_at: isoOrNull(s.startedUnixMs),
    exited_at: isoOrNull(s.exitedUnixMs),
    exit_code: s.hasExitCode ? s.exitCode : null,
    signal: s.signal || null,
    clients: s.clients,
    writer: s.hasWriter,
    output_bytes: Number(s.outputBytes),
    cols: s.cols,
    rows: s.rows,
  };
}

export interface StartArgs extends GlobalArgs {
  name: string;
  command: string[];
  cwd?: string;
  env: string[];
}

export async function startSession(args: StartArgs): Promise<number> {
  const [file, ...rest] = args.command;
  if (!file) {
    process.stderr.write("quirectl: name the command after --, e.g. quirectl start web -- npm run dev\n");
    return ExitCode.Usage;
  }
  // The command runs as it would in this shell: with this environment, plus any --env.
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  for (const pair of args.env) {
    const eq = pair.indexOf("=");
    if (eq <= 0) {
      printError(`--env takes NAME=VALUE, got ${JSON.stringify(pair)}`);
      return ExitCode.Usage;
    }
    env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const session = await withClient(args, (c) =>
    c.start({
      name: args.name,
      file,
      args: rest,
      cwd: args.cwd ?? process.cwd(),
      env,
      cols: process.stdout.columns || 80,
      rows: process.stdout.rows || 24,
    }),
  );
  if (args.json) printJson(sessionJson(session));
  else println(`started ${session.name} (pid ${session.pid}): quirectl attach ${session.name} to use it, Ctrl-] to leave it running`);
  return ExitCode.Ok;
}

export async function listSessions(args: GlobalArgs): Promise<number> {
  const sessions = await withClient(args, (c) => c.list());
  if (args.json) {
    printJson(sessions.map(sessionJson));
    return ExitCode.Ok;
  }
  if (sessions.length === 0) {
    println("no sessions; start one with quirectl start NAME -- COMMAND");
    return ExitCode.Ok;
  }
  const now = Date.now();
  println(
    table([
      ["NAME", "STATE", "PID", "CLIENTS", "WRITER", "UP", "COMMAND"],
      ...sessions.map((s) => [
        visible(s.name),
        s.state === "exited" ? `exited ${s.hasExitCode ? s.exitCode : s.signal}` : s.state,
        String(s.pid),
        String(s.clients),
        s.hasWriter ? "yes" : "-",
        formatDuration((s.state === "exited" ? Number(s.exitedUnixMs) : now) - Number(s.startedUnixMs)),
        visible(s.command.join(" ")),
      ]),
    ]),
  );
  return ExitCode.Ok;
}

export async function killSession(args: GlobalArgs & { name: string }): Promise<number> {
  const s = await withClient(args, (c) => c.kill(args.name));
  if (args.json) printJson(sessionJson(s));
  else println(`${s.name} (pid ${s.pid}) ended: ${s.hasExitCode ? `exit code ${s.exitCode}` : s.signal}`);
  return ExitCode.Ok;
}

export async function tailSession(args: GlobalArgs & { name: string; follow: boolean }): Promise<number> {
  return withClient(args, async (c) => {
    let exited: (s: PtySession) => void = () => {};
    const done = new Promise<PtySession>((resolve) => (exited = resolve));
    const tail = await c.tail(args.name, args.follow, (data) => process.stdout.write(data), exited);
    process.stdout.write(tail.backlog);
    if (!args.follow || tail.session.state === "exited") return ExitCode.Ok;
    const interrupted = new Promise<void>((resolve) => process.once("SIGINT", resolve));
    await Promise.race([done, interrupted, closed(c)]);
    tail.end();
    return ExitCode.Ok;
  });
}

export interface AttachArgs extends GlobalArgs {
  name: string;
  takeover: boolean;
  readOnly: boolean;
}

/** The terminal becomes the session's: raw mode, its size follows ours, Ctrl-] detaches. */
export async function attachSession(args: AttachArgs): Promise<number> {
  return withClient(args, async (c) => {
    const { stdin, stdout, stderr } = process;
    const a = await c.attach(args.name, { write: !args.readOnly, takeover: args.takeover, cols: stdout.columns, rows: stdout.rows });
    stdout.write(a.backlog);
    const role = a.writer ? "" : args.readOnly ? " read-only" : " read-only: another client is the writer (--takeover to become it)";
    stderr.write(`\r\n[attached to ${a.name}${role}; Ctrl-] detaches]\r\n`);
    a.on("output", (data: Buffer) => stdout.write(data));
    a.on("writer", (writer: boolean) =>
      stderr.write(writer ? "\r\n[you are the writer]\r\n" : "\r\n[another client took over: you are read-only now]\r\n"),
    );
    const raw = stdin.isTTY === true;
    if (raw) stdin.setRawMode(true);
    const onResize = () => a.writer && a.resize(stdout.columns, stdout.rows).catch(() => {});
    stdout.on("resize", onResize);
    try {
      const outcome = await new Promise<{ detached: true } | { exited: PtySession } | { closed: Error }>((resolve) => {
        stdin.on("data", (data: Buffer) => {
          const at = data.indexOf(DETACH_KEY);
          const input = at >= 0 ? data.subarray(0, at) : data;
          if (input.length && a.writer) a.input(input).catch(() => {});
          if (at >= 0) resolve({ detached: true });
        });
        stdin.on("end", () => resolve({ detached: true }));
        a.once("exit", (session: PtySession) => resolve({ exited: session }));
        a.once("close", (error: Error) => resolve({ closed: error }));
        stdin.resume();
      });
      if ("detached" in outcome) {
        await a.detach().catch(() => {});
        stderr.write(`\r\n[detached from ${a.name}; it keeps running]\r\n`);
        return ExitCode.Ok;
      }
      if ("exited" in outcome) {
        const s = outcome.exited;
        stderr.write(`\r\n[${s.name} exited: ${s.hasExitCode ? `code ${s.exitCode}` : s.signal}]\r\n`);
        return s.hasExitCode && s.exitCode === 0 ? ExitCode.Ok : ExitCode.Failed;
      }
      throw outcome.closed;
    } finally {
      stdout.off("resize", onResize);
      if (raw) stdin.setRawMode(false);
      stdin.pause();
    }
  });
}

function closed(c: PtyClient): Promise<void> {
  return new Promise((resolve) => c.connection.once("close", () => resolve()));
}
