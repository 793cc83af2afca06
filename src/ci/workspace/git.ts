// Runs git as a plain child process (never in a PTY): no prompts, C locale, no optional locks.
import { execFile, type ExecFileException } from "node:child_process";
import { WorkspaceError } from "./errors.js";

// Variables that would point git at another repository, index or object store than the one in `cwd`
// (a daemon started from a git hook inherits GIT_DIR, for instance). From `git rev-parse --local-env-vars`.
const REPOSITORY_VARIABLES = [
  "GIT_DIR",
  "GIT_WORK_TREE",
  "GIT_IMPLICIT_WORK_TREE",
  "GIT_INDEX_FILE",
  "GIT_OBJECT_DIRECTORY",
  "GIT_ALTERNATE_OBJECT_DIRECTORIES",
  "GIT_COMMON_DIR",
  "GIT_GRAFT_FILE",
  "GIT_SHALLOW_FILE",
  "GIT_PREFIX",
  "GIT_NAMESPACE",
  "GIT_INTERNAL_SUPER_PREFIX",
];

// Warnings (one per file for CRLF conversions, say) can be long on a big tree; keep the message readable.
const STDERR_IN_MESSAGE = 2000;

export interface GitOptions {
  /** Extra environment, e.g. GIT_INDEX_FILE for a temporary index. */
  env?: Record<string, string>;
  /** Written to git's stdin (e.g. the commands of `update-ref --stdin`); stdin is empty otherwise. */
  input?: string;
}

/** Runs `git args...` in `cwd` and resolves to its stdout; a failure is a WorkspaceError naming the command. */
export function git(cwd: string, args: string[], options: GitOptions = {}): Promise<string> {
  return run(cwd, args, options, "utf8");
}

/** `git`, with stdout as bytes: for object contents (a tree's ids are binary). */
export function gitBytes(cwd: string, args: string[], options: GitOptions = {}): Promise<Buffer> {
  return run(cwd, args, options, "buffer");
}

function run<E extends "utf8" | "buffer">(
  cwd: string,
  args: string[],
  options: GitOptions,
  encoding: E,
): Promise<E extends "utf8" ? string : Buffer> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of REPOSITORY_VARIABLES) delete env[name];
  Object.assign(env, { GIT_TERMINAL_PROMPT: "0", GIT_OPTIONAL_LOCKS: "0", LC_ALL: "C" }, options.env);
  return new Promise((resolve, reject) => {
    const child = execFile("git", args, { cwd, env, encoding, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve(stdout as E extends "utf8" ? string : Buffer);
      reject(gitError(cwd, args, error, stderr.toString()));
    });
    child.stdin?.on("error", () => {}); // git may exit before reading it all; its exit code says what happened
    child.stdin?.end(options.input ?? "");
  });
}

/**
 * `git`, for output naming paths: null unless it is all UTF-8. A path is bytes, and a name that is not
 * UTF-8 read as a string becomes another name (each bad byte U+FFFD), which writing or removing it would use.
 */
export async function gitUtf8(cwd: string, args: string[], options: GitOptions = {}): Promise<string | null> {
  return utf8(await gitBytes(cwd, args, options));
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

/** `bytes` as UTF-8 text, or null when they are not UTF-8. */
export function utf8(bytes: Uint8Array): string | null {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return null;
  }
}

/** Like `git`, but an exit code of 1 (git's "no" for -q --verify and symbolic-ref -q) resolves to undefined. */
export async function gitMaybe(cwd: string, args: string[], options: GitOptions = {}): Promise<string | undefined> {
  try {
    return await git(cwd, args, options);
  } catch (error) {
    if (error instanceof WorkspaceError && (error.cause as { code?: unknown })?.code === 1) return undefined;
    throw error;
  }
}

function gitError(cwd: string, args: string[], error: ExecFileException, stderr: string): WorkspaceError {
  const command = ["git", ...args];
  if (error.code === "ENOENT" && !stderr) {
    return new WorkspaceError(`cannot run git (in ${cwd}): ${error.message}; install git or put it on the PATH of quire's daemon`, {
      cause: error,
      command,
    });
  }
  const said = stderr.trim();
  const shown = said.length > STDERR_IN_MESSAGE ? `${said.slice(0, STDERR_IN_MESSAGE)}...` : said;
  return new WorkspaceError(`\`${command.join(" ")}\` failed in ${cwd}: ${shown || error.message}`, { cause: error, command, stderr });
}
