// quirectl action add owner/repo@ref [--from URL]: keep another repository's action on this machine, so
// workflows that use it run it from there.
import { join } from "node:path";
import { resolvePlaces } from "../core/places.js";
import { PipelineError } from "../ci/errors.js";
import { addAction } from "../ci/workflow/action-cache.js";
import { ArgumentError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printJson, println, visible } from "./output.js";

export interface ActionAddArgs extends GlobalArgs {
  action: string;
  from?: string;
}

export async function actionAdd(args: ActionAddArgs): Promise<number> {
  const actionsDir = join(resolvePlaces({ home: args.home }).dataDir, "actions");
  let dir: string;
  try {
    dir = addAction(actionsDir, args.action, args.from);
  } catch (error) {
    if (error instanceof PipelineError) throw new ArgumentError(error.message);
    throw error;
  }
  if (args.json) printJson({ action: args.action, dir });
  else println(`kept ${visible(args.action)} in ${visible(dir)}; workflows that use it run it from there`);
  return ExitCode.Ok;
}
