// What quire's git hook does when git runs it (`quirectl hook run NAME`, from the script `hook install`
// wrote): it submits a run of exactly what was committed or pushed, of the repository's quire.yml or of
// each GitHub workflow whose on.push / on.pull_request filters take the push, and records the trigger.
// In the background (the usual way) its output goes to the hooks log; a pre-push with --wait blocks,
// prints each failure and refuses the push when a run does not complete.
import { execFileSync } from "node:child_process";
import { existsSync, renameSync, statSync } from "node:fs";
import { join, posix } from "node:path";
import { PipelineError } from "../ci/errors.js";
import type { Pipeline } from "../ci/pipeline/model.js";
import { readPipeline } from "../ci/read-pipeline.js";
import { pushTriggers, type PushEvent } from "../ci/triggers/push-filter.js";
import { CiClient, type CiRun } from "../client/ci.js";
import { resolvePlaces } from "../core/places.js";
import { loadSettings } from "./config.js";
import { ExitCode } from "./exit-codes.js";
import { daemonArgs, type GlobalArgs } from "./global-args.js";
import type { HookName } from "./hook-files.js";
import { printError, println, visible } from "./output.js";
import { printReport } from "./run-view.js";

export interface HookRunArgs extends GlobalArgs {
  name: HookName;
  /** pre-push: the remote's name and URL, as git gives them. */
  remote?: string;
  url?: string;
  /** pre-push: the lines git wrote on the hook's stdin. */
  refs?: string;
  /** The pipeline file, relative to the repository's root. */
  file?: string;
  wait: boolean;
}

/** The hooks log is cut at this size (the older half kept as hooks.log.1). */
const LOG_MAX_BYTES = 1024 * 1024;

const ZERO = /^0+$/;

// Set by git for some hooks; a daemon this command starts would hand them to every step, pointing their
// git at the person's repository instead of the run's workspace.
const GIT_REPOSITORY_VARIABLES = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_COMMON_DIR",
  "GIT_PREFIX",
  "GIT_NAMESPACE",
];

/** One push (or a commit, taken as the push it will become) and the commit it runs. */
interface Push {
  event: PushEvent;
  commit: string;
  /** The run's ref: the branch's (or tag's) short name. */
  ref: string;
}

export async function hookRun(args: HookRunArgs): Promise<number> {
  const root = git(process.cwd(), ["rev-parse", "--show-toplevel"]).trim();
  for (const name of GIT_REPOSITORY_VARIABLES) delete process.env[name];
  if (!args.wait) rotateLog(resolvePlaces({ home: args.home }).dataDir);
  const settings = loadSettings(args);
  const pushes = args.name === "post-commit" ? [committed(root)] : pushed(root, args.remote ?? "origin", args.refs ?? "");
  const say = (text: string) => println(`${new Date().toISOString()} ${args.name}: ${visible(text)}`);
  const submitted: CiRun[] = [];
  let refused = false;
  const ci = await CiClient.connect({ home: args.home, daemonArgs: daemonArgs(args) });
  try {
    for (const push of pushes) {
      const files = pipelineFiles(root, push.commit, args.file);
      if (files.length === 0)
        say(`nothing to run at ${push.commit.slice(0, 12)}: no quire.yml at the root and no workflows in .github/workflows`);
      for (const file of files) {
        const path = join(root, file);
        const text = gitMaybe(root, ["cat-file", "blob", `${push.commit}:${file}`]);
        if (text === undefined) {
          say(`${file} is not in ${push.commit.slice(0, 12)}: nothing run for ${push.ref}`);
          refused = true;
          continue;
        }
        let pipeline: Pipeline;
        try {
          pipeline = readPipeline(text, path);
        } catch (error) {
          if (!(error instanceof PipelineError)) throw error;
          say(`${file} at ${push.commit.slice(0, 12)} is not a pipeline quire can run:\n${error.message}`);
          refused = true;
          continue;
        }
        if (pipeline.kind === "github") {
          const decision = pushTriggers(pipeline.on, push.event);
          if (!decision.runs) {
            say(`${file} not run for ${push.ref}: ${decision.reason}`);
            continue;
          }
        }
        const run = await ci.submit(path, text, {
          ref: push.ref,
          commit: push.commit,
          trigger: args.name,
          notify: settings["notify.hook"] && !args.wait,
        });
        say(
          `run ${run.id} ${run.state}: ${file} on ${push.ref} at ${push.commit.slice(0, 12)}${args.wait ? "" : `; quirectl watch ${run.id}`}`,
        );
        submitted.push(run);
      }
    }
    if (!args.wait) return ExitCode.Ok;
    for (const run of submitted) {
      const final = await ci.watch(run.id, () => {});
      if (final.state !== "complete") {
        refused = true;
        await printReport(final);
      }
    }
  } finally {
    ci.close();
  }
  if (refused) printError("the push is refused: a run did not complete (git push --no-verify pushes anyway)");
  return refused ? ExitCode.Failed : ExitCode.Ok;
}

/** post-commit: HEAD, as the push of its branch it will become. */
function committed(root: string): Push {
  const commit = git(root, ["rev-parse", "HEAD"]).trim();
  const branch = gitMaybe(root, ["symbolic-ref", "-q", "--short", "HEAD"])?.trim();
  const paths = nulList(git(root, ["diff-tree", "-r", "--name-only", "-z", "--no-commit-id", "--root", "-m", "--first-parent", commit]));
  const remote = gitMaybe(root, ["config", `branch.${branch}.remote`])?.trim() || "origin";
  const ref = branch ?? commit;
  return { commit, ref, event: { ref: branch ? `refs/heads/${branch}` : commit, paths, baseBranch: defaultBranch(root, remote) } };
}

/** pre-push: each ref git pushes (`<local ref> <local sha> <remote ref> <remote sha>` a line), deletions aside. */
function pushed(root: string, remote: string, refs: string): Push[] {
  const base = defaultBranch(root, remote);
  const pushes: Push[] = [];
  for (const line of refs.split("\n")) {
    const [, local, remoteRef, remoteSha] = line.trim().split(/\s+/);
    if (!local || !remoteRef || !remoteSha || ZERO.test(local)) continue;
    const ref = remoteRef.replace(/^refs\/(heads|tags)\//, "");
    pushes.push({
      commit: local,
      ref,
      event: { ref: remoteRef, paths: changedPaths(root, remote, local, remoteSha, base), baseBranch: base },
    });
  }
  return pushes;
}

/** The files a push changes: against what the remote had, or for a new branch against where it left the default branch. */
function changedPaths(root: string, remote: string, local: string, remoteSha: string, base: string | null): string[] | null {
  let from: string | undefined;
  if (!ZERO.test(remoteSha) && gitMaybe(root, ["cat-file", "-e", `${remoteSha}^{commit}`]) !== undefined) from = remoteSha;
  else if (base) from = gitMaybe(root, ["merge-base", local, `refs/remotes/${remote}/${base}`])?.trim();
  if (!from) return null;
  return nulList(git(root, ["diff", "--name-only", "-z", from, local]));
}

/** The remote's default branch as this clone knows it (refs/remotes/REMOTE/HEAD); null when it does not. */
function defaultBranch(root: string, remote: string): string | null {
  const head = gitMaybe(root, ["symbolic-ref", "-q", "--short", `refs/remotes/${remote}/HEAD`])?.trim();
  return head ? head.slice(head.indexOf("/") + 1) : null;
}

/** The pipeline files to run at `commit`: the one given, else quire.yml at the root, else every workflow. */
function pipelineFiles(root: string, commit: string, file: string | undefined): string[] {
  if (file !== undefined) return [file];
  if (gitMaybe(root, ["cat-file", "-e", `${commit}:quire.yml`]) !== undefined) return ["quire.yml"];
  const dir = ".github/workflows";
  return nulList(gitMaybe(root, ["ls-tree", "-z", "--name-only", `${commit}:${dir}`]) ?? "")
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => posix.join(dir, name));
}

function rotateLog(dataDir: string): void {
  const log = join(dataDir, "hooks.log");
  try {
    if (existsSync(log) && statSync(log).size > LOG_MAX_BYTES) renameSync(log, `${log}.1`);
  } catch {
    // Another hook rotated it first.
  }
}

function nulList(text: string): string[] {
  return text.split("\0").filter((s) => s !== "");
}

function git(cwd: string, args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
}

function gitMaybe(cwd: string, args: string[]): string | undefined {
  try {
    return git(cwd, args);
  } catch {
    return undefined;
  }
}
