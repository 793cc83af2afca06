// quirectl rerun ID [--failed] [--wait]: a finished run's exact tree, run again with the pipeline as it ran
// (with --failed, only its failed and cancelled jobs and the jobs that need them).
import { withCi, follow } from "./ci.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printJson, println, visible } from "./output.js";
import { runJson } from "./run-json.js";

export interface RerunArgs extends GlobalArgs {
  id: number;
  failed: boolean;
  /** `--no-cache` (yargs' negation of --cache): every job runs, none from the job cache. */
  cache: boolean;
  wait: boolean;
}

export async function rerunRun(args: RerunArgs): Promise<number> {
  return withCi(args, async (ci) => {
    const run = await ci.rerun(args.id, { failed: args.failed, noCache: !args.cache });
    if (args.wait) return await follow(ci, run.id, args.json);
    if (args.json) printJson(runJson(run));
    else {
      const jobs = args.failed ? ` (${run.jobs.map((j) => visible(j.name)).join(", ")})` : "";
      println(
        `run ${run.id} ${run.state}: run ${args.id} again${jobs}, ${visible(run.pipeline)} on ${visible(run.ref || run.repo)}\nfollow it: quirectl watch ${run.id}`,
      );
    }
    return ExitCode.Ok;
  });
}
