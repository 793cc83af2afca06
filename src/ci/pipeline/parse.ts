// Reading and validating a pipeline file (README.md, "CI runs"). Every refusal is a PipelineError naming
// file:line:column, the field, what is wrong and what is allowed; parsing stops at the first problem found.
import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { isMap, isScalar, isSeq, type Node, type Pair } from "yaml";
import { PipelineError } from "../errors.js";
import { MAX_PIPELINE_BYTES, PIPELINE_LIMITS, REMOTE_CACHE_TIMEOUT_MS, SECRET_NAME } from "../rules.js";
import { CACHE_PATH_RULE, cachePath } from "../cache/paths.js";
import { isTeamName, remoteUrl } from "../cache/remote-config.js";
import { checkTemplate, splitTemplate } from "../expressions/template.js";
import { DURATION_FORMS, MAX_DURATION_MS, parseDuration } from "./duration.js";
import { findCycle } from "./graph.js";
import { workspacePath } from "./workspace-path.js";
import { jobOf, pipelineOf, stepOf, type DependencyCache, type Job, type Pipeline, type RemoteCache, type Step } from "./model.js";
import { describe, PipelineSource, scalarText, type ValueNode } from "./source.js";
import { closest } from "./suggest.js";

const PIPELINE_FIELDS = ["name", "env", "cache", "jobs"];
const REMOTE_CACHE_FIELDS = ["url", "team", "token", "signature-key", "timeout"];
const JOB_FIELDS = [
  "needs",
  "env",
  "timeout",
  "retries",
  "secrets",
  "working-directory",
  "sandbox",
  "network",
  "cache",
  "inputs",
  "outputs",
  "steps",
];
const CACHE_FIELDS = ["key", "paths", "restore-keys"];
const STEP_FIELDS = ["name", "run", "env", "timeout", "working-directory"];
const JOB_NAME = /^[A-Za-z0-9_-]+$/;
// Names every shell can export; others (`A-B`, `1X`) are legal in an environment but unusable in `$NAME`.
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_RETRIES = 10;
const MAX_CACHES = 16;
/** Paths of one `inputs`, `outputs` or cache entry. */
const MAX_PATHS = 256;
/** As actions/cache allows. */
const MAX_KEY_LENGTH = 512;
const STEP_NAME_LENGTH = 60;

const PIPELINE_SHAPE = "a pipeline file is a mapping with `jobs` and optionally `name`, `env` and `cache`";
const REMOTE_CACHE_SHAPE =
  "expected `cache: { remote: { url: URL, team: TEAM, token: SECRET_NAME } }`, optionally with `signature-key: SECRET_NAME` and `timeout`";
const SECRET_NAME_ALLOWED = "expected the name of a quire secret (capital letters, digits and `_`), set with `quirectl secret set NAME`";
const JOB_SHAPE =
  "expected a mapping with `steps` and optionally `needs`, `env`, `timeout`, `retries`, `secrets`, `working-directory`, `sandbox`, `network`, `cache`, `inputs`, `outputs`";
const CACHE_SHAPE = "expected a list of caches, each `{ key: KEY, paths: [PATH, ...] }` with optionally `restore-keys: [PREFIX, ...]`";
const STEPS_SHAPE = "expected a non-empty list of steps, each `- run: COMMAND` or just `- COMMAND`";
const STEP_HINT = " (quote a command that contains `: `)";
const NUL_PROBLEM = "contains a NUL character (\\0)";

/** Reads and parses the pipeline file at `path`; an unreadable file is a PipelineError with no line. */
export function loadPipeline(path: string): Pipeline {
  return parsePipeline(readPipelineFile(path), path);
}

const READABLE = "give the path of a readable pipeline file (by default quire.yml)";

/**
 * The text of the pipeline file at `path`, refused (a PipelineError with no line, the errno error as
 * `cause`) when it cannot be read, is not a regular file (a FIFO or a device would block or never end) or
 * is larger than MAX_PIPELINE_BYTES; all checked before a byte is read.
 */
export function readPipelineFile(path: string): string {
  let fd: number;
  try {
    // Non-blocking, so that opening a FIFO with no writer returns at once and fstat can refuse it.
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (cause) {
    const problem = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : `cannot read it (${(cause as Error).message})`;
    throw new PipelineError({ file: path }, problem, READABLE, { cause });
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new PipelineError({ file: path }, `not a regular file (${fileKind(stats)})`, READABLE);
    if (stats.size > MAX_PIPELINE_BYTES)
      throw new PipelineError(
        { file: path },
        `the file is ${stats.size} bytes`,
        `a pipeline file is at most ${MAX_PIPELINE_BYTES} bytes (1 MiB)`,
      );
    try {
      return readFileSync(fd, "utf8");
    } catch (cause) {
      throw new PipelineError({ file: path }, `cannot read it (${(cause as Error).message})`, READABLE, { cause });
    }
  } finally {
    closeSync(fd);
  }
}

function fileKind(stats: import("node:fs").Stats): string {
  if (stats.isDirectory()) return "a directory";
  if (stats.isFIFO()) return "a FIFO";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  return "not a file";
}

/**
 * Parses pipeline YAML; `file` is used for positions in errors and for the default name. Text longer
 * than MAX_PIPELINE_BYTES is refused before it is parsed; see PIPELINE_LIMITS for the other bounds.
 */
export function parsePipeline(text: string, file: string): Pipeline {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_PIPELINE_BYTES)
    throw new PipelineError({ file }, `the file is ${bytes} bytes`, `a pipeline file is at most ${MAX_PIPELINE_BYTES} bytes (1 MiB)`);
  return new Parser(new PipelineSource(file, text)).pipeline();
}

/** One entry of a job's `needs`, kept with its node so a later check can point at it. */
interface NeedRef {
  name: string;
  node: Node;
  field: string;
}

class Parser {
  readonly #src: PipelineSource;
  readonly #needs = new Map<string, NeedRef[]>();
  #stepCount = 0;

  constructor(src: PipelineSource) {
    this.#src = src;
  }

  pipeline(): Pipeline {
    const root = this.#src.root();
    if (root === null) this.#src.fail(undefined, undefined, "the file holds no pipeline", PIPELINE_SHAPE);
    if (!isMap(root)) this.#src.fail(root, undefined, `the top level is ${describe(root)}`, PIPELINE_SHAPE);
    const fields = this.#src.fields(root, "", PIPELINE_FIELDS);
    const name = fields.has("name") ? this.#name(fields.get("name")!) : basename(this.#src.file, extname(this.#src.file));
    const env = fields.has("env") ? this.#env(fields.get("env")!, "env") : {};
    const jobsPair = fields.get("jobs");
    if (!jobsPair)
      this.#src.fail(root, "jobs", "missing", "expected a mapping of job names to jobs, e.g. `jobs: { build: { steps: [make] } }`");
    const jobs = this.#jobs(jobsPair);
    this.#checkNeeds(jobs);
    const remoteCache = fields.has("cache") ? this.#remoteCache(fields.get("cache")!) : null;
    return pipelineOf({ name, file: this.#src.file, env, jobs, remoteCache });
  }

  /** The top-level `cache:`: where the job cache is shared (`remote:`); the token and key are secrets' names, never values. */
  #remoteCache(pair: Pair): RemoteCache | null {
    const map = this.#value(pair, "cache");
    if (!isMap(map)) this.#src.fail(this.#src.valueAt(pair), "cache", `got ${describe(map)}`, REMOTE_CACHE_SHAPE);
    const remotePair = this.#src.fields(map, "cache.", ["remote"]).get("remote");
    if (!remotePair) return null;
    const remote = this.#value(remotePair, "cache.remote");
    if (!isMap(remote)) this.#src.fail(this.#src.valueAt(remotePair), "cache.remote", `got ${describe(remote)}`, REMOTE_CACHE_SHAPE);
    const fields = this.#src.fields(remote, "cache.remote.", REMOTE_CACHE_FIELDS);
    const required = (field: string) => {
      const found = fields.get(field);
      if (!found) this.#src.fail(remote, `cache.remote.${field}`, "missing", REMOTE_CACHE_SHAPE);
      return found;
    };
    const urlPair = required("url");
    const text = this.#string(urlPair, "cache.remote.url", "expected the server's http:// or https:// URL");
    const url = remoteUrl(text);
    if (url === undefined)
      this.#src.fail(
        this.#src.valueAt(urlPair),
        "cache.remote.url",
        text.includes("@")
          ? "the URL, not repeated here, is not an http:// or https:// URL without credentials (the token is the credential)"
          : `\`${text}\` is not an http:// or https:// URL without a query`,
        "expected e.g. `https://cache.example.com`",
      );
    const teamPair = required("team");
    const team = this.#string(teamPair, "cache.remote.team", "expected the team's name or id");
    if (!isTeamName(team))
      this.#src.fail(
        this.#src.valueAt(teamPair),
        "cache.remote.team",
        "is empty or holds a space, `/`, `?`, `#` or `&`",
        "expected the team's name or id",
      );
    const secretName = (field: string, at: Pair) => {
      const name = this.#string(at, `cache.remote.${field}`, SECRET_NAME_ALLOWED);
      if (!SECRET_NAME.test(name))
        this.#src.fail(
          this.#src.valueAt(at),
          `cache.remote.${field}`,
          "the value, not repeated here (it may be a credential), is not a secret's name",
          SECRET_NAME_ALLOWED,
        );
      return name;
    };
    const read = optional(fields, "cache.remote");
    return {
      url,
      team,
      tokenSecret: secretName("token", required("token")),
      signatureKeySecret: read("signature-key", (p) => secretName("signature-key", p), null),
      timeoutMs: read("timeout", (p, path) => this.#duration(p, path), REMOTE_CACHE_TIMEOUT_MS),
    };
  }

  #name(pair: Pair): string {
    const name = this.#string(pair, "name", "expected a non-empty, single-line string");
    if (name.trim() === "" || /[\r\n]/.test(name))
      this.#src.fail(this.#src.valueAt(pair), "name", "must be a non-empty single line", "expected a name such as `ci`");
    return name;
  }

  #jobs(pair: Pair): Job[] {
    const map = this.#value(pair, "jobs");
    if (!isMap(map)) this.#src.fail(this.#src.valueAt(pair), "jobs", `got ${describe(map)}`, "expected a mapping of job names to jobs");
    if (map.items.length === 0)
      this.#src.fail(this.#src.valueAt(pair), "jobs", "no jobs", "expected at least one job, e.g. `jobs: { build: { steps: [make] } }`");
    if (map.items.length > PIPELINE_LIMITS.jobs) {
      const extra = map.items[PIPELINE_LIMITS.jobs]!;
      this.#src.fail(
        extra.key as Node,
        "jobs",
        `too many jobs (${map.items.length}); this is job ${PIPELINE_LIMITS.jobs + 1}`,
        `a pipeline has at most ${PIPELINE_LIMITS.jobs} jobs`,
      );
    }
    return map.items.map((jobPair) => {
      const name = this.#src.keyName(jobPair, "jobs.");
      if (!JOB_NAME.test(name))
        this.#src.fail(jobPair.key as Node, `jobs.${name}`, "not a valid job name", "job names use letters, digits, `_` and `-` only");
      return this.#job(jobPair, name);
    });
  }

  #job(pair: Pair, name: string): Job {
    const prefix = `jobs.${name}`;
    const map = this.#value(pair, prefix);
    if (!isMap(map)) this.#src.fail(this.#src.valueAt(pair), prefix, `got ${describe(map)}`, JOB_SHAPE);
    const fields = this.#src.fields(map, `${prefix}.`, JOB_FIELDS);
    const read = optional(fields, prefix);
    const steps = fields.get("steps");
    const sandbox = read("sandbox", (p, path) => this.#boolean(p, path), true);
    const network = read("network", (p, path) => this.#boolean(p, path), true);
    if (!sandbox && !network) {
      this.#src.fail(
        this.#src.valueAt(fields.get("network")!),
        `${prefix}.network`,
        "`network: false` needs the sandbox, and this job has `sandbox: false`",
        "drop one of the two: only a sandboxed step can be kept off the network",
      );
    }
    return jobOf({
      name,
      needs: read("needs", (p, path) => this.#jobNeeds(p, path, name), []),
      env: read("env", (p, path) => this.#env(p, path), {}),
      timeoutMs: read("timeout", (p, path) => this.#duration(p, path), null),
      retries: read("retries", (p, path) => this.#retries(p, path), 0),
      secrets: read("secrets", (p, path) => this.#secrets(p, path), []),
      workingDirectory: read("working-directory", (p, path) => this.#directory(p, path), null),
      sandbox,
      network,
      cache: read("cache", (p, path) => this.#caches(p, path), []),
      inputs: read("inputs", (p, path) => this.#paths(p, path, true), null),
      outputPaths: read("outputs", (p, path) => this.#paths(p, path, false), []),
      steps: steps
        ? this.#steps(steps, `${prefix}.steps`)
        : this.#src.fail(pair.key as Node, `${prefix}.steps`, "missing: a job needs at least one step", STEPS_SHAPE),
    });
  }

  #jobNeeds(pair: Pair, field: string, job: string): string[] {
    const value = this.#value(pair, field);
    const refs: NeedRef[] = [];
    const seen = new Set<string>();
    const add = (node: ValueNode, path: string) => {
      if (!isScalar(node) || typeof node.value !== "string" || node.value === "") {
        this.#src.fail(node, path, `got ${describe(node)}`, "expected the name of a job");
      }
      if (seen.has(node.value)) return;
      seen.add(node.value);
      refs.push({ name: node.value, node, field: path });
    };
    if (isSeq(value)) {
      for (const [i, item] of value.items.entries()) add(this.#src.resolve(item as Node, `${field}[${i}]`), `${field}[${i}]`);
    } else if (isScalar(value) && typeof value.value === "string") add(value, field);
    else this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(value)}`, "expected a job name or a list of job names");
    this.#needs.set(job, refs);
    return refs.map((ref) => ref.name);
  }

  #steps(pair: Pair, field: string): Step[] {
    const list = this.#value(pair, field);
    if (!isSeq(list)) this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(list)}`, STEPS_SHAPE);
    if (list.items.length === 0) this.#src.fail(list, field, "no steps", STEPS_SHAPE);
    const limit = PIPELINE_LIMITS.stepsPerJob;
    if (list.items.length > limit) {
      this.#src.fail(
        this.#at(list.items[limit], list),
        `${field}[${limit}]`,
        `too many steps (${list.items.length})`,
        `a job has at most ${limit} steps`,
      );
    }
    return list.items.map((item, i) => {
      if (++this.#stepCount > PIPELINE_LIMITS.steps) {
        this.#src.fail(
          this.#at(item, list),
          `${field}[${i}]`,
          `this is step ${this.#stepCount} of the pipeline`,
          `a pipeline has at most ${PIPELINE_LIMITS.steps} steps in all`,
        );
      }
      return this.#step(this.#src.resolve(item as Node, `${field}[${i}]`), `${field}[${i}]`);
    });
  }

  /** Where to point for a list item: the item itself (an alias included), else the list. */
  #at(item: unknown, list: Node): Node {
    return item && typeof item === "object" && "range" in item && (item as Node).range ? (item as Node) : list;
  }

  #step(node: ValueNode, prefix: string): Step {
    if (isScalar(node) && typeof node.value === "string") {
      const run = this.#command(node, prefix);
      return stepOf({ name: defaultStepName(run), run });
    }
    if (!isMap(node))
      this.#src.fail(
        node,
        prefix,
        `got ${describe(node)}`,
        "expected a command as a string (quote `true`, numbers and the like) or a mapping with `run`",
      );
    const fields = this.#src.fields(node, `${prefix}.`, STEP_FIELDS, STEP_HINT);
    const runPair = fields.get("run");
    if (!runPair) this.#src.fail(node, `${prefix}.run`, "missing", "every step runs a command: `run: COMMAND`");
    const run = this.#command(this.#value(runPair, `${prefix}.run`), `${prefix}.run`, runPair);
    const read = optional(fields, prefix);
    return stepOf({
      name: read("name", (p, path) => this.#stepName(p, path), defaultStepName(run)),
      run,
      env: read("env", (p, path) => this.#env(p, path), {}),
      timeoutMs: read("timeout", (p, path) => this.#duration(p, path), null),
      workingDirectory: read("working-directory", (p, path) => this.#directory(p, path), null),
    });
  }

  #command(node: ValueNode, field: string, pair?: Pair): string {
    const at = pair ? this.#src.valueAt(pair) : node;
    if (!isScalar(node) || typeof node.value !== "string") {
      this.#src.fail(at, field, `got ${describe(node)}`, "expected a shell command as a string (quote `true`, numbers and the like)");
    }
    if (node.value.trim() === "") this.#src.fail(at, field, "the command is empty", "expected a shell command");
    if (node.value.includes("\0"))
      this.#src.fail(at, field, NUL_PROBLEM, "remove the NUL: a command cannot hold one, the shell would see only what comes before it");
    const bytes = Buffer.byteLength(node.value, "utf8");
    if (bytes > PIPELINE_LIMITS.runBytes) {
      this.#src.fail(
        at,
        field,
        `the command is ${bytes} bytes`,
        `a command is at most ${PIPELINE_LIMITS.runBytes} bytes (64 KiB); put a longer script in a file of the repository and run that`,
      );
    }
    return node.value;
  }

  #stepName(pair: Pair, field: string): string {
    const name = this.#string(pair, field, "expected a non-empty string");
    if (name.trim() === "")
      this.#src.fail(
        this.#src.valueAt(pair),
        field,
        "the name is empty",
        "expected a non-empty string, or no `name` to use the command's first line",
      );
    return name;
  }

  #env(pair: Pair, field: string): Record<string, string> {
    const map = this.#value(pair, field);
    if (!isMap(map))
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(map)}`, "expected a mapping of variable names to values");
    const env: Record<string, string> = {};
    for (const item of map.items) {
      const name = this.#src.keyName(item, `${field}.`);
      if (!ENV_NAME.test(name))
        this.#src.fail(
          item.key as Node,
          `${field}.${name}`,
          "not a usable variable name",
          "names use letters, digits and `_`, not starting with a digit",
        );
      const value = this.#value(item, `${field}.${name}`);
      if (!isScalar(value) || value.value === null || !["string", "number", "boolean"].includes(typeof value.value)) {
        this.#src.fail(
          this.#src.valueAt(item),
          `${field}.${name}`,
          `got ${describe(value)}`,
          "expected a string, number or boolean (write '' for an empty value)",
        );
      }
      const text = typeof value.value === "string" ? value.value : scalarText(value);
      if (text.includes("\0"))
        this.#src.fail(
          this.#src.valueAt(item),
          `${field}.${name}`,
          NUL_PROBLEM,
          "remove the NUL: an environment value cannot hold one, a step would see only what comes before it",
        );
      env[name] = text;
    }
    return env;
  }

  #duration(pair: Pair, field: string): number {
    const value = this.#value(pair, field);
    const at = this.#src.valueAt(pair);
    const allowed = `expected ${DURATION_FORMS}`;
    let text: string | undefined;
    if (isScalar(value) && typeof value.value === "string") text = value.value;
    else if (isScalar(value) && typeof value.value === "number") text = scalarText(value); // bare seconds, as written
    const ms = text === undefined ? undefined : parseDuration(text);
    if (ms === undefined) this.#src.fail(at, field, `got ${describe(value)}`, allowed);
    if (ms <= 0) this.#src.fail(at, field, `\`${text}\` is not more than zero`, `${allowed}, above zero`);
    if (ms > MAX_DURATION_MS)
      this.#src.fail(at, field, `\`${text}\` is too long`, `${allowed}, at most 596h (the longest timer Node keeps)`);
    return ms;
  }

  #retries(pair: Pair, field: string): number {
    const value = this.#value(pair, field);
    if (
      !isScalar(value) ||
      typeof value.value !== "number" ||
      !Number.isInteger(value.value) ||
      value.value < 0 ||
      value.value > MAX_RETRIES
    ) {
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(value)}`, `expected a whole number from 0 to ${MAX_RETRIES}`);
    }
    return value.value;
  }

  #boolean(pair: Pair, field: string): boolean {
    const value = this.#value(pair, field);
    if (!isScalar(value) || typeof value.value !== "boolean")
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(value)}`, "expected `true` or `false`");
    return value.value;
  }

  #secrets(pair: Pair, field: string): string[] {
    const list = this.#value(pair, field);
    if (!isSeq(list))
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(list)}`, "expected a list of secret names, e.g. `[NPM_TOKEN]`");
    const names: string[] = [];
    list.items.forEach((item, i) => {
      const node = this.#src.resolve(item as Node, `${field}[${i}]`);
      if (!isScalar(node) || typeof node.value !== "string" || !SECRET_NAME.test(node.value)) {
        this.#src.fail(
          node,
          `${field}[${i}]`,
          `got ${describe(node)}`,
          "expected a secret name: capital letters, digits and `_`, not starting with a digit",
        );
      }
      if (!names.includes(node.value)) names.push(node.value);
    });
    return names;
  }

  #directory(pair: Pair, field: string): string {
    const text = this.#string(pair, field, "expected a relative path inside the workspace");
    const directory = workspacePath(text);
    if (directory === undefined) {
      this.#src.fail(
        this.#src.valueAt(pair),
        field,
        `\`${text}\` leaves the workspace or is not a relative path`,
        "expected a relative path inside the workspace, with `/` separators and no `..` above the root",
      );
    }
    return directory;
  }

  #caches(pair: Pair, field: string): DependencyCache[] {
    const list = this.#value(pair, field);
    if (!isSeq(list) || list.items.length === 0) this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(list)}`, CACHE_SHAPE);
    if (list.items.length > MAX_CACHES)
      this.#src.fail(
        this.#at(list.items[MAX_CACHES], list),
        `${field}[${MAX_CACHES}]`,
        `too many caches (${list.items.length})`,
        `a job has at most ${MAX_CACHES}`,
      );
    return list.items.map((item, i) => {
      const at = `${field}[${i}]`;
      const node = this.#src.resolve(item as Node, at);
      if (!isMap(node)) this.#src.fail(node, at, `got ${describe(node)}`, CACHE_SHAPE);
      const fields = this.#src.fields(node, `${at}.`, CACHE_FIELDS);
      const key = fields.get("key");
      const paths = fields.get("paths");
      if (!key) this.#src.fail(node, `${at}.key`, "missing", "name the entry: `key: deps-${{ hashFiles('package-lock.json') }}`");
      if (!paths) this.#src.fail(node, `${at}.paths`, "missing", "say what the entry holds: `paths: [node_modules]`");
      const restoreKeys = fields.get("restore-keys");
      return {
        key: this.#cacheKey(this.#value(key, `${at}.key`), `${at}.key`),
        paths: this.#paths(paths, `${at}.paths`, false),
        restoreKeys: restoreKeys ? this.#items(restoreKeys, `${at}.restore-keys`).map(([n, path]) => this.#cacheKey(n, path)) : [],
      };
    });
  }

  /** A cache key or restore key: one line of at most MAX_KEY_LENGTH characters, whose expressions use hashFiles() only. */
  #cacheKey(node: ValueNode, field: string): string {
    const allowed = "expected a key such as `deps-${{ hashFiles('package-lock.json') }}`";
    const key = this.#text(node, field, allowed);
    if (key.trim() === "" || /[\r\n]/.test(key)) this.#src.fail(node, field, "must be a non-empty single line", allowed);
    if (key.length > MAX_KEY_LENGTH)
      this.#src.fail(node, field, `the key is ${key.length} characters`, `a key is at most ${MAX_KEY_LENGTH}`);
    if (splitTemplate(key).parts.some((part) => !part.expression && part.text.includes(",")))
      this.#src.fail(node, field, "holds a comma", "a key has no comma (as actions/cache has it)");
    const [problem] = checkTemplate(key, [], ["hashFiles"]);
    if (problem) this.#src.fail(node, field, problem.message, "a key's expressions may use hashFiles('PATTERN', ...) only");
    return key;
  }

  /** A path or a list of them, each inside the workspace; `.` (all of it) only where `root` allows it. */
  #paths(pair: Pair, field: string, root: boolean): string[] {
    const allowed = root
      ? "expected relative paths of files or directories inside the workspace, with `/` separators, no `..` above the root and no wildcards"
      : `expected paths: ${CACHE_PATH_RULE}`;
    const items = this.#items(pair, field);
    if (items.length === 0) this.#src.fail(this.#src.valueAt(pair), field, "no paths", allowed);
    if (items.length > MAX_PATHS)
      this.#src.fail(this.#src.valueAt(pair), field, `too many paths (${items.length})`, `at most ${MAX_PATHS}`);
    const paths: string[] = [];
    for (const [node, path] of items) {
      const text = this.#text(node, path, allowed);
      // Outputs are held as a cache's paths are; inputs may name the whole tree.
      const normal = root ? workspacePath(text) : cachePath(text);
      if (normal === undefined || /[*?[\]]/.test(text)) this.#src.fail(node, path, `\`${text}\` is not such a path`, allowed);
      if (!paths.includes(normal)) paths.push(normal);
    }
    return paths;
  }

  /** A list's items with their fields (`paths[2]`), or a lone value as a list of one. */
  #items(pair: Pair, field: string): [ValueNode, string][] {
    const value = this.#value(pair, field);
    if (!isSeq(value)) return [[value, field]];
    return value.items.map((item, i) => [this.#src.resolve(item as Node, `${field}[${i}]`), `${field}[${i}]`]);
  }

  /** A string scalar without NUL. */
  #text(node: ValueNode, field: string, allowed: string): string {
    if (!isScalar(node) || typeof node.value !== "string") this.#src.fail(node, field, `got ${describe(node)}`, allowed);
    if (node.value.includes("\0")) this.#src.fail(node, field, NUL_PROBLEM, "remove the NUL");
    return node.value;
  }

  #string(pair: Pair, field: string, allowed: string): string {
    const value = this.#value(pair, field);
    if (!isScalar(value) || typeof value.value !== "string")
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(value)}`, allowed);
    if (value.value.includes("\0")) this.#src.fail(this.#src.valueAt(pair), field, NUL_PROBLEM, "remove the NUL");
    return value.value;
  }

  #value(pair: Pair, field: string): ValueNode {
    return this.#src.resolve(pair.value as Node | null, field);
  }

  /** Needs must name jobs of this pipeline and must not loop; checked once every job is known. */
  #checkNeeds(jobs: Job[]): void {
    const names = jobs.map((job) => job.name);
    const known = new Set(names);
    for (const job of jobs) {
      for (const ref of this.#needs.get(job.name) ?? []) {
        if (known.has(ref.name)) continue;
        const guess = closest(ref.name, names);
        const problem = `\`${ref.name}\` is not a job in this pipeline${guess ? ` (did you mean \`${guess}\`?)` : ""}`;
        this.#src.fail(ref.node, ref.field, problem, `expected one of: ${names.join(", ")}`);
      }
    }
    const cycle = findCycle(jobs);
    if (cycle) {
      const ref = this.#needs.get(cycle[0]!)!.find((need) => need.name === cycle[1])!;
      this.#src.fail(
        ref.node,
        ref.field,
        `needs form a cycle: ${cycle.join(" -> ")} (each needs the next)`,
        "a job may not need itself, directly or through the jobs it needs",
      );
    }
  }
}

/** Reads a field of `fields` with `read` (given the pair and the field's path), or gives `fallback` when absent. */
function optional(fields: Map<string, Pair>, prefix: string) {
  return <T>(field: string, read: (pair: Pair, path: string) => T, fallback: T): T => {
    const pair = fields.get(field);
    return pair ? read(pair, `${prefix}.${field}`) : fallback;
  };
}

/** The first non-blank line of a command, trimmed, cut to STEP_NAME_LENGTH characters (code points). */
function defaultStepName(run: string): string {
  const line = run
    .split(/\r?\n/)
    .find((text) => text.trim() !== "")!
    .trim();
  const chars = Array.from(line);
  return chars.length <= STEP_NAME_LENGTH ? line : chars.slice(0, STEP_NAME_LENGTH - 1).join("") + "…";
}
