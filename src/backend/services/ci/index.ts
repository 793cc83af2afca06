// ci: pipelines of jobs whose shell steps run in PTYs, recorded in the run store. This folder speaks the
// wire (CiRequest in, CiResponse and CiEvent out) and src/ci does the work: dispatch.ts serves each
// frame, watch.ts and logs.ts the requests that stream, metrics.ts what METRICS reports.
import { join } from "node:path";
import { copyLimits, DEFAULT_LIMITS, retentionFromEnv } from "../../../ci/gc/limits.js";
import { installQuirectlShim } from "../../../ci/runner/quirectl-shim.js";
import { Runner } from "../../../ci/runner/runner.js";
import { SettingsError } from "../../../ci/errors.js";
import { defaultSettings, type Settings } from "../../../ci/settings/schema.js";
import { readSettings } from "../../../ci/settings/settings-file.js";
import { RunStore } from "../../../ci/store/index.js";
import { Subprocess } from "../../../runtime/subprocess.js";
import type { Service, ServiceContext } from "../service.js";
import { serveFrame, type CiParts } from "./dispatch.js";
import { ciMetrics, observeRuns } from "./metrics.js";
import { CiReplies } from "./replies.js";
import { startRetention } from "./retention.js";
import { Streams } from "./streams.js";
import { reportVerdicts } from "./verdicts.js";

export function createCiService(context: ServiceContext): Service {
  const settings = daemonSettings(context);
  // Before the store opens: a bad bound stops the backend naming the setting. quired's flags and the
  // environment override the configuration file's.
  const fromFile = copyLimits(DEFAULT_LIMITS);
  fromFile.workspaces.count = settings["runs.keep-failed-workspaces"];
  const limits = retentionFromEnv(process.env, fromFile);
  const store = RunStore.open(context.places.database);
  const runner = new Runner({
    store,
    dataDir: context.places.dataDir,
    logDir: context.places.logDir,
    home: context.places.home,
    binDir: installQuirectlShim(join(context.places.dataDir, "bin")),
    socket: context.places.socket,
    concurrency: positiveInt(process.env.QUIRE_CI_CONCURRENCY) ?? settings["runs.concurrency"] ?? undefined,
    keepFailedWorkspaces: Math.min(limits.workspaces.count, Number.MAX_SAFE_INTEGER),
    remoteCache: settings,
    warn: (message, fields) => context.logger?.log("warn", message, fields),
  });
  const observed = observeRuns(runner, context);
  const verdicts = reportVerdicts(runner, store, context);
  runner.start();
  const collector = startRetention(runner, store, limits, context);
  const parts: CiParts = {
    runner,
    collector,
    replies: new CiReplies(context.places.logDir),
    streams: new Streams(),
    logDir: context.places.logDir,
  };

  return {
    metrics: () => {
      const { running, keepingLeftovers } = Subprocess.tracked();
      return ciMetrics(store, observed, {
        ...runner.held(),
        observed_runs: observed.live(),
        verdict_states: verdicts.held(),
        ...parts.streams.held(),
        step_processes: running,
        steps_keeping_leftovers: keepingLeftovers,
      });
    },
    busy() {
      const { pending, active } = store.stats().runsByState;
      return pending + active > 0 ? `${pending + active} live run${pending + active === 1 ? "" : "s"}` : undefined;
    },
    onFrame: (frame, client) => serveFrame(parts, frame, client),
    onClose: (client) => parts.streams.endAll(client),
    async drain() {
      await runner.shutdown();
      await verdicts.sent();
      store.close();
    },
  };
}

/**
 * The configuration file's settings for the runner, read once at start. A bad file is logged with where it
 * is wrong and the defaults are used: quirectl refuses to submit while the file is bad, saying the same.
 */
function daemonSettings(context: ServiceContext): Settings {
  try {
    return readSettings(context.places.configFile).settings;
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    context.logger?.log(
      "error",
      "the configuration file is bad: its runs and cache settings are not used until the ci backend starts again",
      {
        error: error.message,
      },
    );
    return defaultSettings();
  }
}

/** A setting from the environment: a positive integer, or undefined for the default. */
function positiveInt(text: string | undefined): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
