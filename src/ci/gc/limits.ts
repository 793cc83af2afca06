// How much quire keeps on disk: one options object for every bound (the ci backend's collector reads it,
// quired's flags and the environment feed it, a configuration file may too), its defaults, and the text
// forms a person writes them in (`500`, `30d`, `2GiB`, `unlimited`).
import { RetentionSettingError } from "./errors.js";

/** A bound on one kind of thing: how many, how old (ms), how many bytes; Infinity is no bound. */
export interface Bounds {
  count: number;
  ageMs: number;
  bytes: number;
}

/**
 * What retention keeps. `runs`: finished runs with their rows and logs (bytes are their logs');
 * `workspaces`: the workspaces kept after a failure; `caches`: the entries under QUIRE_HOME/cache.
 * Live runs are never removed, nor counted.
 */
export interface RetentionLimits {
  runs: Bounds;
  workspaces: Bounds;
  caches: Bounds;
}

export type RetentionKind = keyof RetentionLimits;

const DAY_MS = 86_400_000;
const GIB = 1024 ** 3;

/** Enough history to look back a month, at most a few GiB in all: what a laptop can spare without noticing. */
export const DEFAULT_LIMITS: RetentionLimits = {
  runs: { count: 500, ageMs: 30 * DAY_MS, bytes: 1 * GIB },
  workspaces: { count: 3, ageMs: 7 * DAY_MS, bytes: 2 * GIB },
  caches: { count: 200, ageMs: 14 * DAY_MS, bytes: 5 * GIB },
};

type Measure = keyof Bounds;

const FORMS: Record<Measure, string> = {
  count: "a whole number (0 or more)",
  ageMs: "an age such as 30d, 12h, 90m or 1d12h",
  bytes: "a size such as 500MiB, 2GiB, 100MB or a number of bytes",
};

const AGE_UNITS: Record<string, number> = { w: 7 * DAY_MS, d: DAY_MS, h: 3_600_000, m: 60_000, s: 1_000 };
const SIZE_UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: GIB,
  gb: 1000 ** 3,
  gib: GIB,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** One setting: its quired flag, its environment variable, the bound it sets. */
export interface RetentionSetting {
  flag: string;
  env: string;
  kind: RetentionKind;
  measure: Measure;
  describe: string;
}

const WHAT: Record<RetentionKind, string> = {
  runs: "finished runs (and their logs)",
  workspaces: "workspaces kept after a failure",
  caches: "cache entries",
};

function setting(flag: string, env: string, kind: RetentionKind, measure: Measure): RetentionSetting {
  const bound = {
    count: "Keep at most this many",
    ageMs: "Remove, once older than this (e.g. 30d, 12h),",
    bytes: "Keep at most this much (e.g. 500MiB, 2GiB) of",
  }[measure];
  const fallback = formatBound(measure, DEFAULT_LIMITS[kind][measure]);
  return { flag, env, kind, measure, describe: `${bound} ${WHAT[kind]}; "unlimited" for no bound (or set ${env}; default ${fallback})` };
}

/** Every bound, settable as `quired --FLAG VALUE` or in the environment (the flag wins). */
export const RETENTION_SETTINGS: readonly RetentionSetting[] = [
  setting("keep-runs", "QUIRE_KEEP_RUNS", "runs", "count"),
  setting("keep-runs-for", "QUIRE_KEEP_RUNS_FOR", "runs", "ageMs"),
  setting("keep-logs-size", "QUIRE_KEEP_LOGS_SIZE", "runs", "bytes"),
  setting("keep-failed-workspaces", "QUIRE_KEEP_FAILED_WORKSPACES", "workspaces", "count"),
  setting("keep-workspaces-for", "QUIRE_KEEP_WORKSPACES_FOR", "workspaces", "ageMs"),
  setting("keep-workspaces-size", "QUIRE_KEEP_WORKSPACES_SIZE", "workspaces", "bytes"),
  setting("keep-caches", "QUIRE_KEEP_CACHES", "caches", "count"),
  setting("keep-caches-for", "QUIRE_KEEP_CACHES_FOR", "caches", "ageMs"),
  setting("keep-caches-size", "QUIRE_KEEP_CACHES_SIZE", "caches", "bytes"),
];

/** The limits the environment sets, `base`'s for the rest; throws RetentionSettingError naming a bad value. */
export function retentionFromEnv(env: NodeJS.ProcessEnv = process.env, base: RetentionLimits = DEFAULT_LIMITS): RetentionLimits {
  const limits = copyLimits(base);
  for (const s of RETENTION_SETTINGS) {
    const text = env[s.env];
    if (text === undefined || text === "") continue;
    limits[s.kind][s.measure] = parseBound(s, text, s.env);
  }
  return limits;
}

/** A setting's value as written (`where` names the flag or variable for the message). */
export function parseBound(s: RetentionSetting, text: string, where: string): number {
  const value = text.trim();
  if (value === "unlimited") return Infinity;
  const parsed = s.measure === "count" ? parseCount(value) : s.measure === "ageMs" ? parseAge(value) : parseSize(value);
  if (parsed === undefined) throw new RetentionSettingError(where, text, FORMS[s.measure]);
  return parsed;
}

function parseCount(text: string): number | undefined {
  return /^\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
}

/** `30d`, `12h`, `1d12h`, `2w`: largest unit first, each once. */
function parseAge(text: string): number | undefined {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)([wdhms])/gy)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== text) return undefined;
  const order = parts.map((p) => "wdhms".indexOf(p[2]!));
  if (order.some((rank, i) => i > 0 && rank <= order[i - 1]!)) return undefined;
  return Math.round(parts.reduce((ms, p) => ms + Number(p[1]) * AGE_UNITS[p[2]!]!, 0));
}

function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
}

/** A bound as a person reads it: `500`, `30d`, `1.0 GiB`, `unlimited`. */
export function formatBound(measure: Measure, value: number): string {
  if (value === Infinity) return "unlimited";
  if (measure === "count") return String(value);
  if (measure === "bytes") return formatSize(value);
  for (const unit of ["d", "h", "m", "s"])
    if (value >= AGE_UNITS[unit]! && value % AGE_UNITS[unit]! === 0) return `${value / AGE_UNITS[unit]!}${unit}`;
  return `${value}ms`;
}

function formatSize(n: number): string {
  for (const [unit, bytes] of [
    ["GiB", GIB],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const)
    if (n >= bytes && n % bytes === 0) return `${n / bytes}${unit}`;
  return `${n}B`;
}

export function copyLimits(limits: RetentionLimits): RetentionLimits {
  return { runs: { ...limits.runs }, workspaces: { ...limits.workspaces }, caches: { ...limits.caches } };
}
