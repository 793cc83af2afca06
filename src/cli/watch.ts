// quirectl run --watch: a run at once, then a new one whenever the work tree's files change (README.md,
// "In your daily flow"). Each new run supersedes the live one (the store does that for a run of the same
// repository, ref and pipeline); the live view shows the newest run, and its report stays on screen
// until the next change. Runs record the trigger `watch` and end in a desktop notification unless
// notify.watch is off. With --json, each run is printed as one JSON document on a line of its own as it
// ends; what the watch is doing goes to stderr.
import { dirname } from "node:path";
import { PipelineError } from "../ci/errors.js";
import { readPipelineFile } from "../ci/pipeline/parse.js";
import { readPipeline } from "../ci/read-pipeline.js";
import { CiClient, CiRequestError, type CiRun } from "../client/ci.js";
import { resolvePlaces } from "../core/places.js";
import { CiErrorCode } from "../wire/error-codes.js";
import type { RunArgs } from "./run.js";
import { loadSettings } from "./config.js";
import { matrixValues } from "./args.js";
import { ArgumentError, PipelineUsageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { watchTree } from "./file-watcher.js";
import { daemonArgs } from "./global-args.js";
import { visible, visibleLines } from "./output.js";
import { pipelineFile, repositoryRoot } from "./pipeline-file.js";
import { runJson } from "./run-json.js";
import { lineView } from "./run-lines.js";
import { liveView } from "./live-view.js";
import { printReport, type RunView } from "./run-view.js";

/** Changed paths named in the note of a change, at most. */
const NAMED_PATHS = 5;

export async function watchRuns(args: RunArgs): Promise<number> {
  if (args.wait) throw new ArgumentError("--watch shows each run until the next change: leave out --wait");
  const file = pipelineFile(process.cwd(), args.file, args.workflow);
  const settings = loadSettings(args);
  // A file bad from the start is a usage error, as for a single run; later, a bad save waits for the next.
  readChecked(file, true);
  const root = repositoryRoot(dirname(file)) ?? dirname(file);
  const ci = await CiClient.connect({ home: args.home, daemonArgs: daemonArgs(args) });
  const note = (text: string) => process.stderr.write(`${visibleLines(text)}\n`);
  let latest = 0n;
  let view: RunView | undefined;

  const follow = async (run: CiRun) => {
    view?.done();
    view = args.json ? undefined : process.stdout.isTTY ? liveView() : lineView();
    const shown = view;
    const final = await ci.watch(run.id, (update) => run.id === latest && shown?.update(update));
    if (args.json) {
      process.stdout.write(`${JSON.stringify(runJson(final), (_k, v) => (typeof v === "bigint" ? Number(v) : v))}\n`);
      return;
    }
    // A run superseded by a newer one leaves the screen to it.
    if (final.id !== latest) return;
    shown?.done();
    view = undefined;
    await printReport(final);
    note(`watching ${root} for changes (Ctrl-C stops)`);
  };

  const submit = async (why: string) => {
    const text = readChecked(file, false);
    if (text === undefined) return;
    let run: CiRun;
    try {
      run = await ci.submit(file, text, {
        repo: args.repo,
        ref: args.ref,
        jobs: args.job ?? [],
        matrix: matrixValues(args.matrix),
        trigger: "watch",
        notify: settings["notify.watch"],
        noCache: !args.cache,
      });
    } catch (error) {
      if (error instanceof CiRequestError && error.code === CiErrorCode.PIPELINE_INVALID) {
        note(`${error.message}\nwatching for the next change`);
        return;
      }
      throw error;
    }
    latest = run.id;
    note(`run ${run.id} ${run.state} (${why})`);
    follow(run).catch((error) => note(`run ${run.id}: ${(error as Error).message}`));
  };

  let queue = Promise.resolve();
  const watcher = await watchTree(root, {
    debounceMs: settings["watch.debounce"],
    skip: [resolvePlaces({ home: args.home }).dataDir],
    onChange: (paths) => {
      const named = paths.slice(0, NAMED_PATHS).map(visible).join(", ");
      const why = `changed: ${named}${paths.length > NAMED_PATHS ? ` and ${paths.length - NAMED_PATHS} more` : ""}`;
      // One submit at a time, in order, so the newest change makes the newest run.
      queue = queue.then(() => submit(why)).catch((error) => void note((error as Error).message));
    },
  });
  note(`watching ${root} for changes (Ctrl-C stops)`);
  queue = queue.then(() => submit("started"));

  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await watcher.close();
  view?.done();
  ci.close();
  if (latest) note(`stopped watching; run ${latest} goes on if it has not ended: quirectl watch ${latest}`);
  return ExitCode.Ok;
}

/** The pipeline file's text once checked; a bad file is a usage error at the start, a note later. */
function readChecked(file: string, first: boolean): string | undefined {
  try {
    const text = readPipelineFile(file);
    readPipeline(text, file);
    return text;
  } catch (error) {
    if (!(error instanceof PipelineError)) throw error;
    if (first) throw new PipelineUsageError(error.message, error);
    process.stderr.write(`${visibleLines(error.message)}\nwatching for the next change\n`);
    return undefined;
  }
}
