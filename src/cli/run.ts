// quirectl run: read and check the pipeline file here (a bad one is refused before the daemon is even
// started), submit it, and with --wait show the run until it ends (ci.ts). The pipeline readers (yaml and
// the expression parser among them) are loaded by this command only.
import { PipelineError } from "../ci/errors.js";
import { readPipelineFile } from "../ci/pipeline/parse.js";
import { selectJobs } from "../ci/pipeline/select.js";
import { readPipeline } from "../ci/read-pipeline.js";
import { CiRequestError, type CiRun } from "../client/ci.js";
import { CiErrorCode } from "../wire/error-codes.js";
import { matrixValues } from "./args.js";
import { follow, withCi } from "./ci.js";
import { pipelineAtCommit } from "./commit-pipeline.js";
import { loadSettings } from "./config.js";
import { PipelineUsageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printJson, println, visible } from "./output.js";
import { pipelineFile } from "./pipeline-file.js";
import { runJson } from "./run-json.js";

export interface RunArgs extends GlobalArgs {
  file?: string;
  repo?: string;
  ref?: string;
  workflow?: string;
  /** `--job`, any number of times. */
  job?: string[];
  /** `--matrix key=value`, any number of times. */
  matrix?: string[];
  /** `--commit REV`: that commit's tree and file instead of the working copy. */
  commit?: string;
  wait: boolean;
  cache: boolean;
}

export async function submitRun(args: RunArgs): Promise<number> {
  const file = pipelineFile(process.cwd(), args.file, args.workflow);
  const selection = { jobs: args.job ?? [], matrix: matrixValues(args.matrix) };
  let text: string;
  let commit: string | undefined;
  if (args.commit !== undefined) ({ commit, text } = await pipelineAtCommit(file, args.commit));
  else {
    try {
      // A regular file of at most 1 MiB, checked before reading (a FIFO would block here forever).
      text = readPipelineFile(file);
    } catch (error) {
      if (!(error instanceof PipelineError)) throw error;
      const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
      throw new PipelineUsageError(
        code === "ENOENT" ? `${file}: no such pipeline file; write one (see README) or name it: quirectl run FILE` : error.message,
        error,
      );
    }
  }
  try {
    // Checked here too, so a bad file is refused before the daemon is even started.
    selectJobs(readPipeline(text, file), selection);
  } catch (error) {
    if (error instanceof PipelineError) throw new PipelineUsageError(error.message, error);
    throw error;
  }
  const settings = loadSettings(args);
  return withCi(args, async (ci) => {
    let run: CiRun;
    try {
      // Nobody waits on a run submitted without --wait: its end may be a desktop notification (notify.run).
      run = await ci.submit(file, text, {
        repo: args.repo,
        ref: args.ref,
        ...selection,
        notify: !args.wait && settings["notify.run"],
        noCache: !args.cache,
        commit,
      });
    } catch (error) {
      if (error instanceof CiRequestError && error.code === CiErrorCode.PIPELINE_INVALID)
        throw new PipelineUsageError(error.message, error);
      throw error;
    }
    if (!args.wait) {
      if (args.json) printJson(runJson(run));
      else
        println(
          `run ${run.id} ${run.state}: ${visible(run.pipeline)} on ${visible(run.ref || run.repo)}${run.dirty ? " with uncommitted changes" : ""}\nfollow it: quirectl watch ${run.id}`,
        );
      return ExitCode.Ok;
    }
    return await follow(ci, run.id, args.json, { interruptible: true, bell: settings });
  });
}
