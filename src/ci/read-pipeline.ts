// The one front both readers sit behind: a file under .github/workflows/ is a GitHub Actions workflow,
// anything else quire.yml's native form. Both give the same pipeline model.
import type { Pipeline } from "./pipeline/model.js";
import { parsePipeline } from "./pipeline/parse.js";
import { readWorkflow } from "./workflow/read.js";

/** Whether `path` names a GitHub Actions workflow file (`.github/workflows/NAME.yml`). */
export function isWorkflowPath(path: string): boolean {
  return /(^|[\\/])\.github[\\/]workflows[\\/][^\\/]+\.ya?ml$/.test(path);
}

/** Reads pipeline text with the reader its path calls for; throws a PipelineError (all findings, for a workflow). */
export function readPipeline(text: string, file: string): Pipeline {
  return isWorkflowPath(file) ? readWorkflow(text, file) : parsePipeline(text, file);
}
