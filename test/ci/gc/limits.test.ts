// Retention bounds as a person writes them, in quired's flags or its environment: counts, ages, sizes and
// "unlimited"; anything else is refused naming the setting.
import assert from "node:assert/strict";
import { test } from "node:test";
import { DEFAULT_LIMITS, formatBound, RETENTION_SETTINGS, retentionFromEnv } from "../../../src/ci/gc/limits.js";

test("no setting: the defaults", () => {
  assert.deepEqual(retentionFromEnv({}), DEFAULT_LIMITS);
});

test("each setting sets its own bound, in the forms it is written in", () => {
  const limits = retentionFromEnv({
    QUIRE_KEEP_RUNS: "50",
    QUIRE_KEEP_RUNS_FOR: "1d12h",
    QUIRE_KEEP_LOGS_SIZE: "500MiB",
    QUIRE_KEEP_FAILED_WORKSPACES: "0",
    QUIRE_KEEP_WORKSPACES_FOR: "90m",
    QUIRE_KEEP_WORKSPACES_SIZE: "1.5GB",
    QUIRE_KEEP_CACHES: "unlimited",
    QUIRE_KEEP_CACHES_FOR: "2w",
    QUIRE_KEEP_CACHES_SIZE: "4096",
  });
  assert.deepEqual(limits, {
    runs: { count: 50, ageMs: 36 * 3_600_000, bytes: 500 * 1024 ** 2 },
    workspaces: { count: 0, ageMs: 90 * 60_000, bytes: 1.5e9 },
    caches: { count: Infinity, ageMs: 14 * 86_400_000, bytes: 4096 },
  });
  assert.equal(RETENTION_SETTINGS.length, 9, "a count, an age and a size for each of runs, workspaces and caches");
});

test("a value that is not one is refused, naming the setting and what it takes", () => {
  for (const [env, value] of [
    ["QUIRE_KEEP_RUNS", "-1"],
    ["QUIRE_KEEP_RUNS", "many"],
    ["QUIRE_KEEP_RUNS", "1.5"],
    ["QUIRE_KEEP_RUNS_FOR", "12h1d"],
    ["QUIRE_KEEP_RUNS_FOR", "30 days"],
    ["QUIRE_KEEP_LOGS_SIZE", "2 parsecs"],
    ["QUIRE_KEEP_CACHES_SIZE", "-5MiB"],
  ] as const) {
    assert.throws(
      () => retentionFromEnv({ [env]: value }),
      (error: { code?: string; message: string }) =>
        error.code === "QUIRE_ERR_RETENTION_SETTING" && error.message.startsWith(`${env} "${value}"`),
      `${env}=${value}`,
    );
  }
});

test("bounds read back as they are written", () => {
  assert.equal(formatBound("ageMs", DEFAULT_LIMITS.runs.ageMs), "30d");
  assert.equal(formatBound("bytes", DEFAULT_LIMITS.runs.bytes), "1GiB");
  assert.equal(formatBound("count", Infinity), "unlimited");
});
