// Every setting of quire's configuration file (config.yml), with its kind, default and meaning: the file
// writes them nested (`bell:` then `after: 10s`), `quirectl config` names them dotted (`bell.after`).
import { DURATION_FORMS, MAX_DURATION_MS, parseDuration } from "../pipeline/duration.js";
import { isTeamName, remoteUrl } from "../cache/remote-config.js";
import { REMOTE_CACHE_TIMEOUT_MS, SECRET_NAME } from "../rules.js";

export type SettingValue = boolean | number | string | null;

export interface SettingSpec {
  /**
   * boolean; duration (ms, written `10s`); count (a whole number >= 0); positive (>= 1, or null: the
   * default); url (http or https), name (one word) and secret (a quire secret's name), or null: none.
   */
  readonly kind: "boolean" | "duration" | "count" | "positive" | "url" | "name" | "secret";
  readonly default: SettingValue;
  /** What it does, for `config list` and the README. */
  readonly describe: string;
}

export const SETTINGS = {
  "notify.hook": {
    kind: "boolean",
    default: true,
    describe: "A desktop notification when a run a git hook started ends (not a pre-push --wait, which prints its verdict)",
  },
  "notify.watch": { kind: "boolean", default: true, describe: "A desktop notification when a run of `quirectl run --watch` ends" },
  "notify.run": { kind: "boolean", default: false, describe: "A desktop notification when a run of `quirectl run` without --wait ends" },
  "bell.enabled": {
    kind: "boolean",
    default: true,
    describe: "`quirectl run --wait` rings the terminal bell when the run ends (stdout a terminal)",
  },
  "bell.after": { kind: "duration", default: 5_000, describe: "The bell rings only for a run that took longer than this" },
  "hooks.post-commit": { kind: "boolean", default: true, describe: "`quirectl hook install` without flags installs the post-commit hook" },
  "hooks.pre-push": { kind: "boolean", default: false, describe: "`quirectl hook install` without flags installs the pre-push hook" },
  "hooks.wait": { kind: "boolean", default: false, describe: "The pre-push hook waits for the run and refuses the push when it fails" },
  "watch.debounce": { kind: "duration", default: 300, describe: "`quirectl run --watch` runs once the files have been quiet this long" },
  "runs.concurrency": {
    kind: "positive",
    default: null,
    describe: "Jobs running at once (default: the number of cores); read when the ci backend starts",
  },
  "runs.keep-failed-workspaces": {
    kind: "count",
    default: 3,
    describe: "Workspaces of failed runs kept for a look; read when the ci backend starts",
  },
  "cache.remote-url": {
    kind: "url",
    default: null,
    describe:
      "Share the job cache on this Turborepo remote cache server (for workflow files, and quire.yml files without cache.remote); read when the ci backend starts",
  },
  "cache.remote-team": { kind: "name", default: null, describe: "The team the remote cache keeps quire's artifacts under" },
  "cache.remote-token": {
    kind: "secret",
    default: null,
    describe: "The name of the quire secret holding the remote cache's token (quirectl secret set NAME)",
  },
  "cache.remote-signature-key": {
    kind: "secret",
    default: null,
    describe: "The name of the quire secret holding the key artifacts are signed and checked with (none: unsigned)",
  },
  "cache.remote-timeout": {
    kind: "duration",
    default: REMOTE_CACHE_TIMEOUT_MS,
    describe: "How long one request to the remote cache may take before the run goes on without it",
  },
  "ui.port": {
    kind: "positive",
    default: null,
    describe: "The port `quirectl ui` serves the runs page on, on loopback (default: a free one); read when the page is first served",
  },
} as const satisfies Record<string, SettingSpec>;

export type SettingName = keyof typeof SETTINGS;

/** Every setting with its value: the file's where it says, else the default. */
export type Settings = {
  -readonly [K in SettingName]: (typeof SETTINGS)[K]["kind"] extends "boolean"
    ? boolean
    : (typeof SETTINGS)[K]["kind"] extends "positive"
      ? number | null
      : (typeof SETTINGS)[K]["kind"] extends "url" | "name" | "secret"
        ? string | null
        : number;
};

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

export function isSettingName(name: string): name is SettingName {
  return Object.hasOwn(SETTINGS, name);
}

export function defaultSettings(): Settings {
  return Object.fromEntries(SETTING_NAMES.map((name) => [name, SETTINGS[name].default])) as Settings;
}

/** What a setting of this kind takes, for messages. */
export function allowedValues(name: SettingName): string {
  switch (SETTINGS[name].kind) {
    case "boolean":
      return "true or false";
    case "duration":
      return DURATION_FORMS;
    case "count":
      return "a whole number, 0 or more";
    case "positive":
      return "a whole number, 1 or more";
    case "url":
      return "an http:// or https:// URL";
    case "name":
      return "a name without spaces, `/`, `?`, `#` or `&`";
    case "secret":
      return "the name of a quire secret (capital letters, digits and _)";
  }
}

/**
 * A refused value of `name` as a message says it: not repeated where a secret's name or a URL goes (it may
 * be a token pasted in place of its secret's name, or a URL with credentials), since messages reach logs.
 */
export function refusedValue(name: SettingName, raw: unknown): string {
  const kind = SETTINGS[name].kind;
  if (kind === "secret" || (kind === "url" && String(raw).includes("@"))) return "the value (not repeated here: it may be a credential)";
  return JSON.stringify(raw);
}

/**
 * The value of `name` from what a file holds (a YAML scalar's value) or a command line gives (a string),
 * or undefined when it is not one the setting takes.
 */
export function settingValue(name: SettingName, raw: unknown): SettingValue | undefined {
  const kind = SETTINGS[name].kind;
  if (kind === "boolean") {
    if (typeof raw === "boolean") return raw;
    return raw === "true" ? true : raw === "false" ? false : undefined;
  }
  if (kind === "url" || kind === "name" || kind === "secret") {
    if (typeof raw !== "string") return undefined;
    if (kind === "url") return remoteUrl(raw);
    if (kind === "name") return isTeamName(raw) ? raw : undefined;
    return SECRET_NAME.test(raw) ? raw : undefined;
  }
  if (kind === "duration") {
    const ms =
      typeof raw === "number"
        ? Number.isFinite(raw)
          ? Math.round(raw * 1000)
          : undefined
        : typeof raw === "string"
          ? parseDuration(raw)
          : undefined;
    return ms !== undefined && ms >= 0 && ms <= MAX_DURATION_MS ? ms : undefined;
  }
  const n = typeof raw === "number" ? raw : typeof raw === "string" && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n)) return undefined;
  return n >= (kind === "positive" ? 1 : 0) ? n : undefined;
}

/** A value as the file and `config get` write it: `10s` for a duration. */
export function formatSetting(name: SettingName, value: SettingValue): string {
  // A URL, team or secret not set is none; a number not set takes its default (the cores, say).
  if (value === null) return ["url", "name", "secret"].includes(SETTINGS[name].kind) ? "none" : "default";
  if (SETTINGS[name].kind === "duration") return formatMs(value as number);
  return String(value);
}

function formatMs(ms: number): string {
  if (ms === 0) return "0s";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
