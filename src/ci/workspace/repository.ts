// A workspace's .git: a repository of its own whose objects are the snapshot's store and the person's
// object directory (as alternates, never copied), whose config includes the person's, whose HEAD is the
// commit the run is based on and whose branches, tags and remote-tracking branches are the person's as
// they were at the snapshot. Nothing in it points back into the person's .git for writing: what a step
// does here (commit, install hooks, set config) stays here.
import { copyFile, mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { git } from "./git.js";
import { removeTree } from "./remove-tree.js";
import type { GitSnapshot } from "./snapshot.js";

// Refs of the person's that a workspace mirrors, for `git describe`, `git log main..`, `@{upstream}`.
const MIRRORED = ["refs/heads/", "refs/tags/", "refs/remotes/"];

/**
 * Makes `dest/.git` anew for `snapshot`, without refs (mirrorRefs gives it the person's); whatever an
 * earlier run left there is removed first (a step may have changed its config, hooks or refs). The index
 * is the caller's to write.
 */
export async function makeRepository(dest: string, snapshot: GitSnapshot): Promise<void> {
  const gitDir = join(dest, ".git");
  await removeTree(gitDir);
  await initRepository(dest, snapshot.source.format);
  await mkdir(join(gitDir, "objects", "info"), { recursive: true });
  await writeFile(join(gitDir, "objects", "info", "alternates"), `${join(snapshot.store, "objects")}\n${snapshot.source.objects}\n`);
  await writeFile(join(gitDir, "config"), configText(snapshot), { flag: "a" });
  await writeFile(join(gitDir, "HEAD"), snapshot.branch === null ? `${snapshot.commit}\n` : `ref: refs/heads/${snapshot.branch}\n`);
  await mkdir(join(gitDir, "info"), { recursive: true });
  await copyIfThere(snapshot.source.exclude, join(gitDir, "info", "exclude"));
  await copyIfThere(snapshot.source.shallow, join(gitDir, "shallow"));
}

/**
 * Gives the repository makeRepository made in `dest` the person's branches, tags and remote-tracking
 * branches (as packed refs), with the branch HEAD is on at the snapshot's commit (the person may have
 * committed since). Renamed into place whole: git may be reading the refs meanwhile (a 40-hex name is
 * looked up as a ref too).
 */
export async function mirrorRefs(dest: string, snapshot: GitSnapshot): Promise<void> {
  const refs = new Map<string, string>();
  for (const line of (await git(snapshot.repo, ["for-each-ref", "--format=%(objectname) %(refname)", ...MIRRORED])).split("\n")) {
    const space = line.indexOf(" ");
    if (space > 0) refs.set(line.slice(space + 1), line.slice(0, space));
  }
  if (snapshot.branch !== null) {
    if (snapshot.commit === null) refs.delete(`refs/heads/${snapshot.branch}`);
    else refs.set(`refs/heads/${snapshot.branch}`, snapshot.commit);
  }
  const file = join(dest, ".git", "packed-refs");
  await writeFile(`${file}.new`, [...refs].map(([name, id]) => `${id} ${name}\n`).join(""));
  await rename(`${file}.new`, file);
}

// The config `git init` writes holds what it found out about the file system (whether it keeps file modes,
// symbolic links and case), so it is learnt from one `git init` per file system and object format; every
// later repository there is made of the same directories and config without a git process (one costs
// 3-8 ms here, on each run's critical path).
const initConfigs = new Map<string, string>();
// What `git init --template=` makes besides HEAD and config.
const INIT_DIRS = ["objects/info", "objects/pack", "refs/heads", "refs/tags"];

async function initRepository(dest: string, format: string): Promise<void> {
  const gitDir = join(dest, ".git");
  const key = `${(await stat(dest)).dev}:${format}`;
  const config = initConfigs.get(key);
  if (config === undefined) {
    const objectFormat = format === "sha1" ? [] : [`--object-format=${format}`];
    await git(dest, ["init", "-q", "--template=", ...objectFormat, "--initial-branch=main", "."]);
    const written = await readFile(join(gitDir, "config"), "utf8");
    // A repository whose refs are not files (init.defaultRefFormat=reftable) is not only these files.
    if (!/refstorage/i.test(written)) initConfigs.set(key, written);
    return;
  }
  for (const dir of INIT_DIRS) await mkdir(join(gitDir, dir), { recursive: true });
  await writeFile(join(gitDir, "config"), config);
}

// After the person's config (remotes, user, filters, line endings: what checking out and `git status` use),
// the settings that keep this repository to itself: its own work tree (a submodule's config names the
// submodule's), the whole tree checked out, no fsmonitor daemon, no shared index files.
function configText(snapshot: GitSnapshot): string {
  return [
    "[include]",
    `\tpath = ${quoted(snapshot.source.config)}`,
    // No `bare` here: `git init` wrote it once already, and a second value in the same file makes a
    // step's own `git init` (or `git config core.bare`) fail with "multiple values".
    "[core]",
    "\tworktree = ..",
    "\tsparseCheckout = false",
    "\tfsmonitor = false",
    "\tsplitIndex = false",
    "",
  ].join("\n");
}

async function copyIfThere(from: string, to: string): Promise<void> {
  try {
    await copyFile(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

// A config value in double quotes, with git's escapes.
function quoted(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n").replaceAll("\t", "\\t")}"`;
}
