// Steps in a sandbox, where the platform gives one without root: on Linux, bubblewrap (bwrap). The step
// sees the machine read-only; its workspace, a /tmp of its job's own, fresh ~/.npm and ~/.cache of its
// run's own and what it is given besides read-write; quire's home hidden but for the quirectl shim and the
// broker's socket. It gets a pid namespace of its own: a /proc shared with the person's processes would
// reach every file through /proc/PID/root. native-notes/sandbox.md says what each platform gets and why.
import { existsSync, mkdirSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { run } from "../../runtime/index.js";
import { resolveCommand } from "../../runtime/which.js";

/** What one sandboxed step may write; the rest of the machine is read-only or hidden. */
export interface Confinement {
  /** The run's workspace. */
  workspace: string;
  /** A directory of the job's own, mounted as /tmp (and as $TMPDIR): kept across the job's steps. */
  tmp: string;
  /** Directories of the run's own, mounted over ~/.npm and ~/.cache. */
  caches: { npm: string; cache: string };
  /** Other directories the step writes, mounted where they are (a workflow's runner files). */
  writable: readonly string[];
  /** Directories the step reads where they are, wherever they lie (the git directories its workspace's objects come from). */
  readable: readonly string[];
  /** false: a network namespace with a loopback of its own and nothing else. */
  network: boolean;
}

/** What of quire's own a step must not see, and what of it a step is given back. */
export interface SandboxPlaces {
  /** Directories hidden entirely: quire's data and socket directories, the person's session sockets. */
  hidden: string[];
  /** Given back read-only inside a hidden directory: the quirectl launcher's, the kept actions'. */
  readable: string[];
  /** Sockets given back: the broker's, for `quirectl annotate`. */
  sockets: string[];
  /** The person's home, whose .npm and .cache each run gets afresh. */
  home: string;
}

export type SandboxState = { available: true } | { available: false; reason: string };

export interface SandboxOptions {
  /** The bubblewrap program (default: bwrap on the daemon's PATH). */
  bwrap?: string;
  /** The daemon's environment, for PATH and the probe (default: process.env). */
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

const PROBE_TIMEOUT_MS = 10_000;

export class Sandbox {
  readonly #places: SandboxPlaces;
  readonly #platform: NodeJS.Platform;
  readonly #env: Record<string, string>;
  /** Its absolute path; undefined when it is not installed. */
  readonly #bwrap: string | undefined;
  #state: Promise<SandboxState> | undefined;

  constructor(places: SandboxPlaces, options: SandboxOptions = {}) {
    this.#places = places;
    this.#platform = options.platform ?? process.platform;
    this.#env = Object.fromEntries(Object.entries(options.env ?? process.env).filter((e): e is [string, string] => e[1] !== undefined));
    try {
      this.#bwrap = this.#platform === "linux" ? resolveCommand(options.bwrap ?? "bwrap", this.#env, "/") : undefined;
    } catch {
      this.#bwrap = undefined;
    }
  }

  /** Whether steps can be sandboxed here, probed once: a sandbox is made that runs `true`. */
  state(): Promise<SandboxState> {
    this.#state ??= this.#probe();
    return this.#state;
  }

  /**
   * The command line `command` runs in the sandbox with, in `cwd`. Asked where state() did not say
   * available, it fails to start (bwrap is not there, or cannot make the sandbox): it never runs unconfined instead.
   */
  wrap(command: readonly string[], confinement: Confinement, cwd: string, env: Record<string, string>): string[] {
    const args = [...NAMESPACES, ...(confinement.network ? [] : ["--unshare-net"])];
    args.push("--bind", confinement.tmp, "/tmp");
    if (env.TMPDIR && isAbsolute(env.TMPDIR) && env.TMPDIR !== "/tmp" && existsSync(env.TMPDIR))
      args.push("--bind", confinement.tmp, env.TMPDIR);
    for (const dir of new Set(this.#places.hidden)) if (existsSync(dir)) args.push("--perms", "0700", "--tmpfs", dir);
    for (const dir of this.#places.readable) args.push("--ro-bind-try", dir, dir);
    for (const socket of this.#places.sockets) args.push("--bind-try", socket, socket);
    args.push("--bind", confinement.workspace, confinement.workspace);
    for (const [name, dir] of [
      [".npm", confinement.caches.npm],
      [".cache", confinement.caches.cache],
    ] as const) {
      const over = join(this.#places.home, name);
      // A mount needs somewhere to go, and the read-only home cannot get it from inside: made here, empty.
      if (ensureDir(over) && ensureDir(dir)) args.push("--bind", dir, over);
    }
    for (const dir of confinement.readable) if (existsSync(dir)) args.push("--ro-bind", dir, dir);
    for (const dir of confinement.writable) if (existsSync(dir)) args.push("--bind", dir, dir);
    args.push("--chdir", cwd, "--", ...command);
    return [this.#bwrap ?? "bwrap", ...args];
  }

  async #probe(): Promise<SandboxState> {
    if (this.#platform !== "linux") return { available: false, reason: `quire has no sandbox for steps on ${this.#platform} yet` };
    if (this.#bwrap === undefined) {
      return {
        available: false,
        reason:
          "bubblewrap (bwrap) is not installed; install it (apt-get install bubblewrap, dnf install bubblewrap, ...) and restart quired",
      };
    }
    try {
      const result = await run(this.#bwrap, [...NAMESPACES, "--unshare-net", "--", "true"], {
        pty: false,
        env: this.#env,
        inheritEnv: false,
        timeoutMs: PROBE_TIMEOUT_MS,
      });
      if (result.exitCode === 0) return { available: true };
      const said =
        result.output.trim().split("\n")[0] ||
        (result.timedOut ? "it did not answer" : `it exited with ${result.exitCode ?? result.signal}`);
      return {
        available: false,
        reason: `bubblewrap cannot make a sandbox on this machine (${said}); native-notes/sandbox.md says what it needs`,
      };
    } catch (error) {
      return { available: false, reason: `bubblewrap could not be started: ${(error as Error).message}` };
    }
  }
}

/**
 * The machine read-only with a /dev and a /proc of the sandbox's own; no process, SysV IPC or cgroup of
 * anyone else's; no capability (bwrap run by root would otherwise keep them). The step keeps its PTY as
 * its controlling terminal (no --new-session): the terminal is its own, so nothing it pushes into it
 * (TIOCSTI) reaches anyone else.
 */
const NAMESPACES = [
  "--ro-bind",
  "/",
  "/",
  "--dev",
  "/dev",
  "--proc",
  "/proc",
  "--unshare-pid",
  "--unshare-ipc",
  "--unshare-cgroup-try",
  "--cap-drop",
  "ALL",
];

function ensureDir(dir: string): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return true;
  } catch {
    return false;
  }
}
