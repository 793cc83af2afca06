// Which pipeline file `quirectl run` means: the one named, a workflow named by --workflow, else
// quire.yml here or at the repository's root, else the repository's workflows listed to choose from.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { ArgumentError } from "./errors.js";

const WORKFLOWS = join(".github", "workflows");

/** The repository root holding `dir`, or undefined outside a git work tree. */
export function repositoryRoot(dir: string): string | undefined {
  try {
    return (
      execFileSync("git", ["rev-parse", "--show-toplevel"], { cwd: dir, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim() ||
      undefined
    );
  } catch {
    return undefined;
  }
}

/** The workflow files of the repository at `root`, sorted. */
export function workflowFiles(root: string): string[] {
  const dir = join(root, WORKFLOWS);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/** The pipeline file to run; an ArgumentError (exit 2) lists the choices when there is none to take. */
export function pipelineFile(cwd: string, file: string | undefined, workflow: string | undefined): string {
  if (file !== undefined && workflow !== undefined) throw new ArgumentError("give a pipeline file or --workflow NAME, not both");
  if (file !== undefined) return resolve(cwd, file);
  if (workflow !== undefined) {
    const root = repositoryRoot(cwd);
    const files = root ? workflowFiles(root) : [];
    const found = files.find((path) => basename(path) === workflow || basename(path).replace(/\.ya?ml$/, "") === workflow);
    if (found) return found;
    const names = files.map((path) => basename(path).replace(/\.ya?ml$/, ""));
    throw new ArgumentError(
      names.length > 0
        ? `no workflow ${workflow} in ${join(root!, WORKFLOWS)}; there are: ${names.join(", ")}`
        : `no workflows in ${root ? join(root, WORKFLOWS) : cwd}`,
    );
  }
  // A quire.yml here is found without asking git (a process) where the repository's root is.
  const here = join(cwd, "quire.yml");
  if (existsSync(here)) return here;
  const root = repositoryRoot(cwd);
  if (root !== undefined && existsSync(join(root, "quire.yml"))) return join(root, "quire.yml");
  const files = root ? workflowFiles(root) : [];
  if (files.length > 0) {
    const names = files.map((path) => `  quirectl run --workflow ${basename(path).replace(/\.ya?ml$/, "")}`).join("\n");
    throw new ArgumentError(`no quire.yml here or at ${root}; this repository has GitHub workflows, run one of them:\n${names}`);
  }
  return resolve(cwd, "quire.yml");
}
