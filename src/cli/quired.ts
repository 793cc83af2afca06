// quired: the broker in the foreground, as a service manager starts it.
import yargs from "yargs";
import { Broker } from "../broker/broker.js";
import { RootRefusedError } from "../broker/errors.js";
import { takeActivation, type Activation } from "../broker/socket-activation.js";
import { RetentionSettingError } from "../ci/gc/errors.js";
import { parseBound, RETENTION_SETTINGS, retentionFromEnv } from "../ci/gc/limits.js";
import { resolvePlaces } from "../core/places.js";
import { QUIRE_VERSION } from "../version.js";
import { ExitCode } from "./exit-codes.js";
import { commandLine } from "./output.js";

export async function main(argv: string[]): Promise<number> {
  let usageError = false;
  const args = await yargs(argv)
    .scriptName("quired")
    .usage("$0 [options]\n\nRuns the quire broker in the foreground. quirectl starts it for you on first use.")
    .version(QUIRE_VERSION)
    .option("home", { type: "string", describe: "Keep everything in this directory (default: $QUIRE_HOME, else XDG places)" })
    .option("allow-root", {
      type: "boolean",
      default: process.env.QUIRE_ALLOW_ROOT === "1",
      describe: "Run even as root (or set QUIRE_ALLOW_ROOT=1)",
    })
    .option("handoff", {
      type: "boolean",
      default: process.platform !== "win32",
      describe: "Pass client sockets to backends (--no-handoff: clients always reconnect)",
    })
    .option("hello-timeout-ms", { type: "number", describe: "Drop a connection that sends no Hello in this time (default 3000)" })
    .option("handoff-ack-timeout-ms", {
      type: "number",
      describe: "Give up a handoff the backend has not ACKed in this time (default 2000)",
    })
    .option("token-ttl-ms", { type: "number", describe: "How long a handoff/reconnect token stays good (default 30000)" })
    .option("max-pending-tokens", { type: "number", describe: "Handshakes in flight, at most (default 1024)" })
    .option("max-pending-tokens-per-peer", { type: "number", describe: "Handshakes in flight for one peer pid, at most (default 256)" })
    .option("hello-rate", { type: "number", describe: "Hellos per second per peer (default 1000)" })
    .option("hello-burst", { type: "number", describe: "Hellos a peer may send at once (default 2000)" })
    .option("respawn-budget", { type: "number", describe: "Crashes tolerated per window before a backend is marked failed (default 3)" })
    .option("respawn-window-ms", { type: "number", describe: "The crash budget's window (default 30000)" })
    .option("respawn-delay-ms", { type: "number", describe: "Pause before respawning a crashed backend (default 250)" })
    .option("drain-grace-ms", { type: "number", describe: "How long backends may take to finish on shutdown (default 10000)" })
    .option("liveness-interval-ms", {
      type: "number",
      describe: "Ping each backend this long after its last answer; 0 turns it off (default 2000)",
    })
    .option("liveness-timeout-ms", {
      type: "number",
      describe: "Kill and respawn a backend that leaves a ping unanswered this long (default 10000)",
    })
    .option("log-max-bytes", {
      type: "number",
      describe: "Rotate quired.log before it grows past this many bytes; 0 never (default 10485760)",
    })
    .option("log-files", { type: "number", describe: "Log files kept, quired.log and quired.log.1 ... included (default 5)" })
    .option("backend-idle-ms", {
      type: "number",
      describe:
        "Stop a backend after this long without Hellos or clients when it has no work (no pty sessions, no live runs); the next Hello starts it again. 0 never (default 600000)",
    })
    .option("exit-when-idle", {
      type: "number",
      describe:
        "Exit once no client has connected and no backend has run for this many ms (quirectl passes it to a quired it starts on demand; default: never)",
    })
    // Strings, read by applyRetentionFlags (typed loosely, so the flags above keep their types).
    .options(Object.fromEntries(RETENTION_SETTINGS.map((s) => [s.flag, { type: "string", describe: s.describe }])) as Record<never, never>)
    .strict()
    .fail((message, error) => {
      if (error) throw error;
      usageError = true;
      process.stderr.write(`quired: ${message}\nRun quired --help for the options.\n`);
    })
    .parse();
  if (usageError) return ExitCode.Usage;
  try {
    applyRetentionFlags(args as Record<string, unknown>);
  } catch (error) {
    if (!(error instanceof RetentionSettingError)) throw error;
    process.stderr.write(`quired: ${error.message}\nRun quired --help for the options.\n`);
    return ExitCode.Usage;
  }

  process.umask(0o077);
  let broker: Broker;
  try {
    // Taken before anything is forked, so no backend inherits LISTEN_FDS.
    const activation: Activation = takeActivation();
    if (activation.warning) process.stderr.write(`quired: ${activation.warning}\n`);
    broker = await Broker.start({
      listenFd: activation.fd,
      places: resolvePlaces({ home: args.home }),
      allowRoot: args.allowRoot,
      handoff: args.handoff,
      helloTimeoutMs: args.helloTimeoutMs,
      handoffAckTimeoutMs: args.handoffAckTimeoutMs,
      tokenTtlMs: args.tokenTtlMs,
      maxPendingTokens: args.maxPendingTokens,
      maxPendingTokensPerPeer: args.maxPendingTokensPerPeer,
      helloRatePerSecond: args.helloRate,
      helloBurst: args.helloBurst,
      respawn: { budget: args.respawnBudget, windowMs: args.respawnWindowMs, delayMs: args.respawnDelayMs },
      drainGraceMs: args.drainGraceMs,
      livenessIntervalMs: args.livenessIntervalMs,
      livenessTimeoutMs: args.livenessTimeoutMs,
      logMaxBytes: args.logMaxBytes,
      logFiles: args.logFiles,
      backendIdleMs: args.backendIdleMs,
      exitWhenIdleMs: args.exitWhenIdle,
    });
  } catch (error) {
    const message =
      error instanceof RootRefusedError
        ? new RootRefusedError(commandLine(["quired", "--allow-root", ...argv])).message
        : (error as Error).message;
    process.stderr.write(`quired: ${message}\n`);
    return ExitCode.Failed;
  }
  const stop = () => void broker.stop();
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  // For an external logrotate: it moves quired.log away, then tells us to open a new one.
  process.on("SIGHUP", () => broker.reopenLog());
  await broker.closed;
  return ExitCode.Ok;
}

/**
 * The retention flags become the environment the ci backend is started with (where it reads its limits),
 * and every bound, from a flag or the environment, is checked here, so a bad one stops quired at once.
 */
function applyRetentionFlags(args: Record<string, unknown>): void {
  for (const s of RETENTION_SETTINGS) {
    const value = args[s.flag];
    if (typeof value !== "string") continue;
    parseBound(s, value, `--${s.flag}`);
    process.env[s.env] = value;
  }
  retentionFromEnv(process.env);
}
