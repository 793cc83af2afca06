// ci: pipelines of jobs whose shell steps run in PTYs, recorded in the run store. This file speaks the
// wire (CiRequest in, CiResponse and CiEvent out); src/ci does the work.
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Histogram, type MetricFamily } from "../../core/metrics.js";
import { Frame_Kind, type Frame } from "../../gen/quire/v1/frame.js";
import { CiEvent, CiRequest, CiResponse, CiRun } from "../../gen/quire/v1/ci.js";
import { PipelineError } from "../../ci/errors.js";
import { followLog } from "../../ci/output/log-file.js";
import { installQuirectlShim } from "../../ci/runner/quirectl-shim.js";
import { Runner } from "../../ci/runner/runner.js";
import { RunStore, type RunView } from "../../ci/store/index.js";
import { QuireError } from "../../errors.js";
import { newFrame } from "../../wire/framing.js";
import { CiErrorCode } from "../../wire/error-codes.js";
import { Lane } from "../../wire/lanes.js";
import type { ServedConnection } from "../served-connection.js";
import type { Service, ServiceContext } from "./service.js";

/** A watcher is sent the run at most this often while it runs: each event is the whole run, and a live view needs no more. */
const WATCH_INTERVAL_MS = 20;

/** Run durations, seconds: from a second to an hour. */
const DURATION_BOUNDS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600];

export function createCiService(context: ServiceContext): Service {
  const store = RunStore.open(context.places.database);
  const runner = new Runner({
    store,
    dataDir: context.places.dataDir,
    logDir: context.places.logDir,
    home: context.places.home,
    binDir: installQuirectlShim(join(context.places.dataDir, "bin")),
    concurrency: positiveInt(process.env.QUIRE_CI_CONCURRENCY),
  });
  const observed = observeRuns(runner, context);
  runner.start();
  /** Requests that stream (watch, logs), by client, so CANCEL and a closed client end them. */
  const streams = new Map<ServedConnection, Map<bigint, () => void>>();

  const message = (view: RunView): CiRun => toMessage(view, context.places.logDir);
  const respond = (client: ServedConnection, request: Frame, response: Partial<CiResponse>) =>
    client.respond(request, CiResponse.encode(CiResponse.fromPartial({ ok: true, ...response })).finish());
  const event = (client: ServedConnection, request: Frame, e: CiEvent) =>
    client.send(newFrame({ kind: Frame_Kind.EVENT, payloadProtocol: Lane.CI, requestId: request.requestId, payload: Buffer.from(CiEvent.encode(e).finish()) }));
  const fail = (client: ServedConnection, request: Frame, error: unknown) => {
    const position = error instanceof PipelineError ? { file: error.file, line: error.line ?? 0, column: error.column ?? 0, field: error.field ?? "" } : undefined;
    const code = error instanceof QuireError ? error.code : CiErrorCode.INTERNAL;
    respond(client, request, { ok: false, error: (error as Error).message, errorCode: code, position });
  };
  const track = (client: ServedConnection, requestId: bigint, end: () => void) => {
    let mine = streams.get(client);
    if (!mine) streams.set(client, (mine = new Map()));
    mine.set(requestId, end);
    return () => mine!.delete(requestId);
  };

  /**
   * The run now, then on its changes, then the response at its end. Changes are coalesced: an event at
   * most every WATCH_INTERVAL_MS, and the end at once. A client that does not read is sent nothing more
   * until it has caught up (its socket's drain), and then only the latest state.
   */
  const watch = (client: ServedConnection, request: Frame, id: number) => {
    runner.isLive(id); // an unknown run throws RunNotFoundError here, before anything is registered
    let ended = false;
    let lastSent = 0;
    /** A send waiting for the interval to pass. */
    let timer: NodeJS.Timeout | undefined;
    let immediate = false;
    /** A send waiting for the client to catch up: changes meanwhile are in the state it then reads. */
    let behind = false;
    const send = () => {
      timer = undefined;
      immediate = false;
      if (ended) return;
      if (client.backedUp) {
        behind = true;
        void client.drained().then(() => {
          behind = false;
          send();
        });
        return;
      }
      const view = runner.get(id);
      lastSent = performance.now();
      event(client, request, { run: message(view) });
      if (!runner.isLive(id)) finish();
    };
    const onChange = (changed: number) => {
      if (changed !== id || immediate || behind) return;
      const wait = lastSent + WATCH_INTERVAL_MS - performance.now();
      if (wait > 0 && runner.isLive(id)) {
        timer ??= setTimeout(send, wait);
        return;
      }
      clearTimeout(timer);
      immediate = true;
      setImmediate(send);
    };
    const stop = () => {
      ended = true;
      clearTimeout(timer);
      runner.off("changed", onChange);
    };
    const untrack = track(client, request.requestId, stop);
    const finish = () => {
      stop();
      untrack();
      respond(client, request, { run: message(runner.get(id)) });
    };
    runner.on("changed", onChange);
    send();
  };

  /** Every selected step's log in job and step order; with follow, each one until it has ended. */
  const logs = async (client: ServedConnection, request: Frame, op: NonNullable<CiRequest["logs"]>) => {
    const id = Number(op.id);
    const view = runner.get(id);
    const abort = new AbortController();
    const aborted = new Promise<void>((resolve) => abort.signal.addEventListener("abort", () => resolve(), { once: true }));
    const untrack = track(client, request.requestId, () => abort.abort());
    /**
     * `look()` now and after each change of the run, until it gives something, `settled()` says nothing
     * more will come, or the request ends. Listening starts before the first look, so no change is missed.
     */
    const afterChanges = async <T>(look: () => T | undefined, settled: () => boolean): Promise<T | undefined> => {
      for (;;) {
        let wake!: () => void;
        const woken = new Promise<void>((resolve) => (wake = resolve));
        const onChange = (changed: number) => changed === id && wake();
        runner.on("changed", onChange);
        abort.signal.addEventListener("abort", wake);
        try {
          const found = look();
          if (found !== undefined || abort.signal.aborted || settled()) return found;
          await woken;
        } finally {
          runner.off("changed", onChange);
          abort.signal.removeEventListener("abort", wake);
        }
      }
    };
    // A job's `n`th step. Following, a job that has run out of steps but not ended may still add some: a
    // failed attempt's retry is recorded only once what that attempt left behind has been ended.
    const stepAt = (job: string, n: number) =>
      afterChanges(() => runner.stepAt(id, job, n), () => !op.follow || !runner.isJobLive(id, job) || !runner.isLive(id));
    try {
      for (const job of view.jobs) {
        if (op.job && job.name !== op.job) continue;
        for (let i = 0; ; i++) {
          const step = await stepAt(job.name, i);
          if (abort.signal.aborted) return;
          if (!step) break;
          if (op.step && step.name !== op.step) continue;
          const path = join(context.places.logDir, step.log);
          // A client that does not read is sent nothing more until its socket drains (or the request ends).
          const send = async (data: Buffer) => {
            event(client, request, { log: { job: job.name, step: step.name, attempt: step.attempt, data } });
            if (client.backedUp) await Promise.race([client.drained(), aborted]);
          };
          if (op.follow) {
            const live = () => runner.isStepLive(id, job.name, step.attempt, step.index);
            // A pending step of a run that has ended never starts: nothing to wait for.
            if (live() && !runner.isLive(id)) continue;
            await followLog(path, send, () => live() && runner.isLive(id), abort.signal);
          } else {
            await followLog(path, send, () => false, abort.signal);
          }
          if (abort.signal.aborted) return;
        }
      }
      // Following the whole run, the answer is its end (its last job's end is recorded a little before).
      if (op.follow && !op.job && !op.step) await afterChanges(() => (runner.isLive(id) ? undefined : true), () => false);
      if (abort.signal.aborted) return;
      respond(client, request, { run: message(runner.get(id)) });
    } finally {
      untrack();
    }
  };

  const handle = async (client: ServedConnection, request: Frame, ci: CiRequest) => {
    if (ci.submit) {
      const view = await runner.submit(ci.submit.file, ci.submit.text, { repo: ci.submit.repo, ref: ci.submit.ref });
      return respond(client, request, { run: message(view) });
    }
    if (ci.get) return respond(client, request, { run: message(runner.get(Number(ci.get.id))) });
    if (ci.list) return respond(client, request, { runs: runner.list(ci.list.limit || undefined).map(message) });
    if (ci.watch) return watch(client, request, Number(ci.watch.id));
    if (ci.cancel) return respond(client, request, { run: message(await runner.cancel(Number(ci.cancel.id))) });
    if (ci.logs) return logs(client, request, ci.logs);
    if (ci.secretSet) {
      runner.setSecret(ci.secretSet.name, ci.secretSet.value);
      return respond(client, request, {});
    }
    if (ci.secretList) return respond(client, request, { secretNames: runner.secretNames() });
    if (ci.secretRemove) {
      runner.removeSecret(ci.secretRemove.name);
      return respond(client, request, {});
    }
    if (ci.annotate) {
      runner.annotate(Buffer.from(ci.annotate.token).toString("utf8"), ci.annotate.text, ci.annotate.job, ci.annotate.step);
      return respond(client, request, {});
    }
    respond(client, request, { ok: false, error: "empty ci request: set one operation", errorCode: CiErrorCode.BAD_REQUEST });
  };

  return {
    metrics: () => ciMetrics(store, observed),
    busy() {
      const { pending, active } = store.stats().runsByState;
      return pending + active > 0 ? `${pending + active} live run${pending + active === 1 ? "" : "s"}` : undefined;
    },
    onFrame(frame, client) {
      if (frame.kind === Frame_Kind.CANCEL) {
        streams.get(client)?.get(frame.requestId)?.();
        return;
      }
      let request: CiRequest;
      try {
        request = CiRequest.decode(frame.payload);
      } catch (error) {
        return fail(client, frame, new QuireError(CiErrorCode.BAD_REQUEST, `payload is not a valid CiRequest: ${(error as Error).message}`));
      }
      handle(client, frame, request).catch((error) => fail(client, frame, error));
    },
    onClose(client) {
      for (const end of streams.get(client)?.values() ?? []) end();
      streams.delete(client);
    },
    async drain() {
      await runner.shutdown();
      store.close();
    },
  };
}

interface RunObservations {
  durations: Histogram;
  /** Bytes of step output (their logs), counted as each run ends. */
  outputBytes: number;
}

/** Follows runs from live to ended: their duration and output for metrics, a log line with the run id. */
function observeRuns(runner: Runner, context: ServiceContext): RunObservations {
  const observed: RunObservations = { durations: new Histogram("quire_ci_run_duration_seconds", "Wall time of ended runs, from start (or creation) to end, by final state", DURATION_BOUNDS), outputBytes: 0 };
  const live = new Set<number>();
  // Every step's start and end is a change: only a run's first and last are worth reading it whole.
  runner.on("changed", (id: number) => {
    let isLive: boolean;
    try {
      isLive = runner.isLive(id);
    } catch {
      return;
    }
    if (isLive) {
      if (live.has(id)) return;
      live.add(id);
      const view = runner.get(id);
      context.logger?.log("info", "run submitted", { runId: id, repo: view.repo, ref: view.ref, pipeline: view.pipeline });
      return;
    }
    if (!live.delete(id)) return;
    const view = runner.get(id);
    const seconds = Math.max(0, (view.finishedAt ?? Date.now()) - (view.startedAt ?? view.createdAt)) / 1000;
    observed.durations.observe(seconds, { state: view.state });
    const bytes = treeBytes(join(context.places.logDir, String(id)));
    observed.outputBytes += bytes;
    context.logger?.log("info", "run ended", { runId: id, state: view.state, failureKind: view.failureKind ?? undefined, seconds, outputBytes: bytes });
  });
  return observed;
}

function ciMetrics(store: RunStore, observed: RunObservations): MetricFamily[] {
  const stats = store.stats();
  return [
    {
      name: "quire_ci_runs",
      help: "Runs in the store, by state and failure_kind",
      type: "gauge",
      samples: stats.runsByOutcome.map((r) => ({ labels: { state: r.state, failure_kind: r.failureKind }, value: r.n })),
    },
    { name: "quire_ci_jobs_running", help: "Jobs active now", type: "gauge", samples: [{ labels: {}, value: stats.jobsActive }] },
    { name: "quire_ci_steps_running", help: "Steps active now", type: "gauge", samples: [{ labels: {}, value: stats.stepsActive }] },
    observed.durations.family(),
    { name: "quire_ci_output_bytes_total", help: "Bytes of step output (logs) of the runs ended since the backend started", type: "counter", samples: [{ labels: {}, value: observed.outputBytes }] },
  ];
}

/** Bytes of the files under `dir` (0 when it does not exist). */
function treeBytes(dir: string): number {
  let total = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += treeBytes(path);
    else if (entry.isFile()) {
      try {
        total += statSync(path).size;
      } catch {}
    }
  }
  return total;
}

/** A setting from the environment: a positive integer, or undefined for the default. */
function positiveInt(text: string | undefined): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function toMessage(view: RunView, logDir: string): CiRun {
  return CiRun.fromPartial({
    id: BigInt(view.id),
    repo: view.repo,
    ref: view.ref,
    pipeline: view.pipeline,
    pipelineFile: view.pipelineFile,
    state: view.state,
    failureKind: view.failureKind ?? "",
    failureSummary: view.failureSummary ?? "",
    supersededBy: BigInt(view.supersededBy ?? 0),
    createdUnixMs: BigInt(view.createdAt),
    startedUnixMs: BigInt(view.startedAt ?? 0),
    finishedUnixMs: BigInt(view.finishedAt ?? 0),
    commit: view.commit ?? "",
    tree: view.tree ?? "",
    dirty: view.dirty,
    jobs: view.jobs.map((job) => ({
      needs: view.spec.jobs.find((j) => j.name === job.name)?.needs ?? [],
      name: job.name,
      state: job.state,
      hasExitCode: job.exitCode !== null,
      exitCode: job.exitCode ?? 0,
      startedUnixMs: BigInt(job.startedAt ?? 0),
      finishedUnixMs: BigInt(job.finishedAt ?? 0),
      attempt: job.attempt,
      steps: job.steps.map((step) => ({
        name: step.name,
        state: step.state,
        hasExitCode: step.exitCode !== null,
        exitCode: step.exitCode ?? 0,
        startedUnixMs: BigInt(step.startedAt ?? 0),
        finishedUnixMs: BigInt(step.finishedAt ?? 0),
        log: join(logDir, step.log),
        attempt: step.attempt,
        command: step.command,
      })),
    })),
    annotations: view.annotations.map((a) => ({ text: a.text, job: a.job ?? "", step: a.step ?? "", createdUnixMs: BigInt(a.createdAt) })),
  });
}
