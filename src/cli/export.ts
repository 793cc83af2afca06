// quirectl export github [FILE] [--check]: quire.yml as a GitHub Actions workflow.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { PipelineError } from "../ci/errors.js";
import type { Pipeline } from "../ci/pipeline/model.js";
import { parsePipeline, readPipelineFile } from "../ci/pipeline/parse.js";
import { EXPORTED_WORKFLOW, exportWorkflow } from "../ci/workflow/export.js";
import { ArgumentError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printJson, println } from "./output.js";
import { repositoryRoot } from "./pipeline-file.js";

export interface ExportArgs extends GlobalArgs {
  file?: string;
  check: boolean;
}

export async function exportGithub(args: ExportArgs): Promise<number> {
  const file = resolve(args.file ?? "quire.yml");
  let pipeline: Pipeline;
  try {
    pipeline = parsePipeline(readPipelineFile(file), file);
  } catch (error) {
    if (error instanceof PipelineError) throw new ArgumentError(error.message);
    throw error;
  }
  const root = repositoryRoot(dirname(file)) ?? dirname(file);
  const target = join(root, EXPORTED_WORKFLOW);
  const text = exportWorkflow(pipeline, relative(root, file) || file);
  if (args.check) {
    const current = existsSync(target) ? readFileSync(target, "utf8") : undefined;
    const fresh = current === text;
    if (args.json) printJson({ file: target, up_to_date: fresh });
    else if (fresh) println(`${target} is up to date with ${file}`);
    else
      println(
        `${target} ${current === undefined ? "is missing" : "differs from what export writes today"}; run: quirectl export github ${args.file ?? ""}`.trimEnd(),
      );
    return fresh ? ExitCode.Ok : ExitCode.Failed;
  }
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, text);
  if (args.json) printJson({ file: target, up_to_date: true });
  else println(`wrote ${target}`);
  return ExitCode.Ok;
}
