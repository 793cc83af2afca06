// A workflow's `uses: actions/cache` step (and actions/cache/restore, actions/cache/save), as the runner
// does it: the step's inputs read as actions/cache reads them, and the script the step then runs, which
// says what was done and sets the step's outputs as actions/cache sets them.
import { CacheKeyError, CachePathError } from "../errors.js";
import type { CacheRequest, Restored } from "./dependency-caches.js";
import { cachePath, cachePathLines } from "./paths.js";

/** What an actions/cache step asks, its inputs evaluated. */
export interface CacheStep {
  /** `cache`: restore, and save at the job's end unless the key itself was found; `restore`, `save`: that only. */
  mode: "cache" | "restore" | "save";
  request: CacheRequest;
  /** `fail-on-cache-miss`: the step fails when no entry is found. */
  failOnMiss: boolean;
  /** `lookup-only`: say whether there is an entry, restore nothing. */
  lookupOnly: boolean;
}

const MODES = { cache: "cache", "cache-restore": "restore", "cache-save": "save" } as const;

/** The step's inputs as actions/cache reads them; throws CachePathError or CacheKeyError for ones it cannot use. */
export function cacheStepOf(adapter: keyof typeof MODES, inputs: Record<string, string>): CacheStep {
  const key = (inputs.key ?? "").trim();
  if (key === "" || key.length > 512 || key.includes(",")) throw new CacheKeyError(key);
  const paths = cachePathLines(inputs.path ?? "").map((line) => {
    const path = cachePath(line);
    if (path === undefined) throw new CachePathError(line);
    return path;
  });
  if (paths.length === 0) throw new CachePathError(inputs.path ?? "");
  const restoreKeys = cachePathLines(inputs["restore-keys"] ?? "");
  return {
    mode: MODES[adapter],
    request: { key, paths, restoreKeys },
    failOnMiss: inputs["fail-on-cache-miss"] === "true",
    lookupOnly: inputs["lookup-only"] === "true",
  };
}

/** Whether `adapter` is one of actions/cache's. */
export function isCacheAdapter(adapter: string): adapter is keyof typeof MODES {
  return adapter in MODES;
}

const quote = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;

/** The script of a step that restored (or looked up) an entry: what was found, and the outputs. */
export function restoreScript(step: CacheStep, restored: Restored): string {
  const { key } = step.request;
  const lines: string[] = [];
  const say = (text: string) => lines.push(`printf '%s\\n' ${quote(text)}`);
  const output = (name: string, value: string) => lines.push(`printf '%s=%s\\n' ${quote(name)} ${quote(value)} >> "$GITHUB_OUTPUT"`);
  if (step.mode === "restore") output("cache-primary-key", key);
  if (restored.hit === "miss") {
    say(
      `quire: no cache entry for key ${key}${step.request.restoreKeys.length ? ` or restore keys ${step.request.restoreKeys.join(", ")}` : ""}`,
    );
    if (step.failOnMiss) lines.push(`printf '%s\\n' ${quote("quire: fail-on-cache-miss is set, so the step fails")} >&2`, "exit 1");
    else if (step.mode === "cache") say("quire: the paths are saved under that key when the job succeeds");
    return lines.join("\n");
  }
  const what = step.lookupOnly ? "found (lookup-only: nothing restored)" : "restored";
  say(`quire: cache ${what} from key ${restored.key}`);
  output("cache-hit", String(restored.hit === "exact"));
  if (step.mode === "restore") output("cache-matched-key", restored.key);
  if (restored.hit === "prefix" && step.mode === "cache") say(`quire: the paths are saved under key ${key} when the job succeeds`);
  return lines.join("\n");
}

/** The script of an actions/cache/save step: what the save did. */
export function savedScript(key: string, result: "saved" | "exists" | "nothing"): string {
  const text = {
    saved: `quire: cache saved with key ${key}`,
    exists: `quire: a cache entry with key ${key} exists already; it is kept as it is`,
    nothing: `quire: none of the paths exists, so nothing was saved under key ${key}`,
  }[result];
  return `printf '%s\\n' ${quote(text)}`;
}

/** A step that warns (a `::warning::` workflow command, so an annotation of the step) and goes on. */
export function warningScript(why: string): string {
  return `printf '%s\\n' ${quote(`::warning::quire: ${why.replace(/[\r\n]+/g, " ")}`)}`;
}
