// Actions from other repositories, kept on this machine: `quirectl action add owner/repo@ref` clones the
// action into QUIRE_HOME/actions once, and a workflow that `uses:` it runs it from there. Nothing is
// downloaded while a run runs.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { PipelineError } from "../errors.js";

/** `owner/repo[/path]@ref`, as a workflow writes it. */
const SPEC = /^([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+)((?:\/[A-Za-z0-9_.-]+)*)@([A-Za-z0-9_./-]+)$/;

export interface ActionSpec {
  owner: string;
  repo: string;
  /** A subdirectory of the repository holding the action ("" for its root). */
  path: string;
  ref: string;
}

export function parseActionSpec(uses: string): ActionSpec | undefined {
  const m = SPEC.exec(uses);
  if (!m || m[4]!.includes("..") || m[3]!.split("/").includes("..")) return undefined;
  return { owner: m[1]!, repo: m[2]!, path: m[3]!.replace(/^\//, ""), ref: m[4]! };
}

/** Where a kept action's repository is checked out (its action.yml is under `path` there). */
export function keptActionRoot(actionsDir: string, spec: ActionSpec): string {
  return join(actionsDir, spec.owner.toLowerCase(), spec.repo.toLowerCase(), encodeURIComponent(spec.ref));
}

/**
 * Clones `from` (default: the repository on GitHub) and checks out `ref` into the action cache, replacing
 * what was kept for that ref. Made aside and renamed into place, so a failed or interrupted add leaves
 * the old copy (or nothing), never half of one. Returns the directory.
 */
export function addAction(actionsDir: string, uses: string, from?: string): string {
  const spec = parseActionSpec(uses);
  if (!spec) throw new PipelineError({ file: uses }, "not an action name", "name it `owner/repo@ref` or `owner/repo/path@ref`");
  const target = keptActionRoot(actionsDir, spec);
  const staging = `${target}.adding-${process.pid}`;
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  rmSync(staging, { recursive: true, force: true });
  const url = from ?? `https://github.com/${spec.owner}/${spec.repo}.git`;
  try {
    execFileSync("git", ["clone", "--quiet", "--no-checkout", url, staging], { stdio: ["ignore", "ignore", "pipe"] });
    execFileSync("git", ["-C", staging, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", spec.ref], {
      stdio: ["ignore", "ignore", "pipe"],
    });
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    const said = String((error as { stderr?: Buffer }).stderr ?? "").trim();
    throw new PipelineError(
      { file: uses },
      `could not fetch ${uses} from ${url}${said ? `: ${said}` : ""}`,
      "check the name and the ref, or give a local copy with --from PATH",
    );
  }
  if (!["action.yml", "action.yaml"].some((name) => existsSync(join(staging, spec.path, name)))) {
    rmSync(staging, { recursive: true, force: true });
    throw new PipelineError(
      { file: uses },
      `${uses} has no action.yml${spec.path ? ` in ${spec.path}` : ""}`,
      "name the directory that holds the action",
    );
  }
  rmSync(target, { recursive: true, force: true });
  renameSync(staging, target);
  return target;
}
