// ci: pipelines of jobs whose shell steps run in PTYs, recorded in the run store. This folder speaks the
// wire (CiRequest in, CiResponse and CiEvent out) and src/ci does the work: dispatch.ts serves each
// frame, watch.ts and logs.ts the requests that stream, metrics.ts what METRICS reports.
import { join } from "node:path";
import { installQuirectlShim } from "../../../ci/runner/quirectl-shim.js";
import { Runner } from "../../../ci/runner/runner.js";
import { RunStore } from "../../../ci/store/index.js";
import type { Service, ServiceContext } from "../service.js";
import { serveFrame, type CiParts } from "./dispatch.js";
import { ciMetrics, observeRuns } from "./metrics.js";
import { CiReplies } from "./replies.js";
import { Streams } from "./streams.js";

export function createCiService(context: ServiceContext): Service {
  const store = RunStore.open(context.places.database);
  const runner = new Runner({
    store,
    dataDir: context.places.dataDir,
    logDir: context.places.logDir,
    home: context.places.home,
    binDir: installQuirectlShim(join(context.places.dataDir, "bin")),
    socket: context.places.socket,
    concurrency: positiveInt(process.env.QUIRE_CI_CONCURRENCY),
  });
  const observed = observeRuns(runner, context);
  runner.start();
  const parts: CiParts = { runner, replies: new CiReplies(context.places.logDir), streams: new Streams(), logDir: context.places.logDir };

  return {
    metrics: () => ciMetrics(store, observed),
    busy() {
      const { pending, active } = store.stats().runsByState;
      return pending + active > 0 ? `${pending + active} live run${pending + active === 1 ? "" : "s"}` : undefined;
    },
    onFrame: (frame, client) => serveFrame(parts, frame, client),
    onClose: (client) => parts.streams.endAll(client),
    async drain() {
      await runner.shutdown();
      store.close();
    },
  };
}

/** A setting from the environment: a positive integer, or undefined for the default. */
function positiveInt(text: string | undefined): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}
