// The repository fixture: real git repositories (and plain directories) in temporary directories, isolated
// from the machine's and the user's git config, and removed after the test file that made them.
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after } from "node:test";

export const gitEnv = {
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  // The user's ignore and attributes files are read even without a global config file.
  GIT_CONFIG_COUNT: "2",
  GIT_CONFIG_KEY_0: "core.excludesFile",
  GIT_CONFIG_VALUE_0: "/dev/null",
  GIT_CONFIG_KEY_1: "core.attributesFile",
  GIT_CONFIG_VALUE_1: "/dev/null",
  GIT_AUTHOR_NAME: "quire test",
  GIT_AUTHOR_EMAIL: "test@quire.invalid",
  GIT_COMMITTER_NAME: "quire test",
  GIT_COMMITTER_EMAIL: "test@quire.invalid",
  GIT_TERMINAL_PROMPT: "0",
  // A `git status` that refreshed the index would change the repository the tests check is untouched.
  GIT_OPTIONAL_LOCKS: "0",
};

// quire's own git commands (snapshots, checkouts), run in this process or in the daemons the tests start,
// inherit this process's environment: they see the repositories as the tests' git does.
Object.assign(process.env, gitEnv);

/** Runs git in `dir` and returns its output, trimmed. */
export function git(dir: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd: dir, env: { ...process.env, ...gitEnv }, encoding: "utf8" }).trim();
}

/** Writes `files` (path under `dir` -> content), making their directories; `mode` is set exactly (no umask). */
export function writeFiles(dir: string, files: Record<string, string>, mode?: number): void {
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, mode === undefined ? undefined : { mode });
    if (mode !== undefined) chmodSync(path, mode);
  }
}

export class TempRepos {
  readonly #made: string[] = [];

  /** A repository on branch `main` with `files` committed; with no files, a repository with no commits. */
  make(files: Record<string, string> = {}): string {
    const repo = this.dir("repo");
    git(repo, "init", "-q", "-b", "main");
    if (Object.keys(files).length > 0) {
      writeFiles(repo, files);
      git(repo, "add", "-A");
      git(repo, "commit", "-q", "-m", "initial");
    }
    return repo;
  }

  /** An empty directory, removed with the repositories. Its real path: quire reports paths that way. */
  dir(name = "dir", parent = tmpdir()): string {
    const dir = realpathSync(mkdtempSync(join(parent, `quire-${name}-`)));
    this.#made.push(dir);
    return dir;
  }

  /**
   * An empty directory outside /tmp, removed with the repositories: a sandboxed CI step sees it (read-only),
   * while its /tmp is its own. For gates its steps wait on, and for the person's files a test checks.
   */
  dirOutsideTmp(name = "dir"): string {
    return this.dir(name, "/var/tmp");
  }

  /** Removes everything made here, directories a test made read-only included. */
  removeAll(): void {
    for (const dir of this.#made.splice(0)) {
      makeWritable(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** A TempRepos whose directories are removed by an `after` hook of the test file (or suite) that calls this. */
export function tempRepos(): TempRepos {
  const repos = new TempRepos();
  after(() => repos.removeAll());
  return repos;
}

function makeWritable(dir: string): void {
  try {
    chmodSync(dir, 0o700);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) makeWritable(join(dir, entry.name));
    }
  } catch {
    // Gone already, or not ours to change: rmSync reports what it cannot remove.
  }
}
