// quire's configuration file: read with positions, every problem refused at file:line:column naming the
// setting, never ignored; written back one setting at a time with the person's comments kept.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { remoteCacheOf } from "../../../src/ci/cache/remote-config.js";
import { SettingsError } from "../../../src/ci/errors.js";
import { REMOTE_CACHE_TIMEOUT_MS } from "../../../src/ci/rules.js";
import { defaultSettings, settingValue } from "../../../src/ci/settings/schema.js";
import { parseSettings, readSettings, writeSetting } from "../../../src/ci/settings/settings-file.js";

const dir = mkdtempSync(join(tmpdir(), "quire-settings-"));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `c${++n}`, "config.yml");

describe("reading", () => {
  test("no file, an empty file or one of comments: every default", () => {
    assert.deepEqual(readSettings(fresh()), { settings: defaultSettings(), given: new Set() });
    for (const text of ["", "# nothing yet\n", "bell:\n"]) assert.deepEqual(parseSettings(text, "c.yml").settings, defaultSettings());
  });

  test("the file's values where it gives them, the defaults elsewhere", () => {
    const { settings, given } = parseSettings(
      "notify:\n  hook: false # quiet\nbell:\n  after: 1m30s\nruns:\n  concurrency: 2\n  keep-failed-workspaces: 0\nwatch:\n  debounce: 50ms\n",
      "c.yml",
    );
    assert.deepEqual(settings, {
      ...defaultSettings(),
      "notify.hook": false,
      "bell.after": 90_000,
      "runs.concurrency": 2,
      "runs.keep-failed-workspaces": 0,
      "watch.debounce": 50,
    });
    assert.deepEqual([...given].sort(), ["bell.after", "notify.hook", "runs.concurrency", "runs.keep-failed-workspaces", "watch.debounce"]);
    assert.equal(parseSettings("bell:\n  after: 2\n", "c.yml").settings["bell.after"], 2000, "a bare number is seconds");
  });

  const bad: [string, string, RegExp][] = [
    ["bell: [\n", "c.yml:", /invalid YAML/],
    ["- a\n", "c.yml:1:1: ", /not a mapping of sections/],
    [
      "notfy:\n  hook: true\n",
      "c.yml:1:1: notfy: ",
      /unknown section \(did you mean `notify`\?\); sections: notify, bell, hooks, watch, runs/,
    ],
    ["notify:\n  hokk: true\n", "c.yml:2:3: notify.hokk: ", /did you mean `notify.hook`/],
    ["notify: true\n", "c.yml:1:9: notify: ", /is not a mapping of settings; under notify: hook, watch, run/],
    ["bell:\n  after: soon\n", "c.yml:2:10: bell.after: ", /"soon" is not a value it takes; a duration such as/],
    ["bell:\n  enabled: yes\n", "c.yml:2:12: bell.enabled: ", /"yes" is not a value it takes; true or false/],
    ["runs:\n  concurrency: 0\n", "c.yml:2:16: runs.concurrency: ", /1 or more/],
    ["runs:\n  keep-failed-workspaces: -1\n", "c.yml:2:27: runs.keep-failed-workspaces: ", /0 or more/],
    ["hooks:\n  wait: [true]\n", "c.yml:2:9: hooks.wait: ", /needs one value/],
    ["bell:\n  after: 1s\n  after: 2s\n", "c.yml:3:3: ", /invalid YAML/],
  ];
  for (const [text, prefix, problem] of bad) {
    test(`refused where it is wrong: ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseSettings(text, "c.yml"),
        (error: unknown) => {
          assert.ok(error instanceof SettingsError);
          assert.equal(error.code, "QUIRE_ERR_CONFIG_INVALID");
          assert.ok(error.message.startsWith(prefix), error.message);
          assert.match(error.message, problem);
          return true;
        },
      );
    });
  }

  test("a file that cannot be read is refused naming it, not taken for no file", () => {
    const file = fresh();
    writeSetting(file, "bell.enabled", false);
    assert.throws(() => readSettings(join(file, "..")), { code: "QUIRE_ERR_CONFIG_INVALID" });
  });
});

describe("writing", () => {
  test("set creates the file and its directory; unset takes the setting out again, and an emptied section with it", () => {
    const file = fresh();
    writeSetting(file, "bell.after", 10_000);
    assert.equal(readFileSync(file, "utf8"), "bell:\n  after: 10s\n");
    writeSetting(file, "notify.hook", false);
    assert.deepEqual(readSettings(file).settings, { ...defaultSettings(), "bell.after": 10_000, "notify.hook": false });
    writeSetting(file, "bell.after", undefined);
    assert.equal(readFileSync(file, "utf8"), "notify:\n  hook: false\n");
    writeSetting(file, "notify.hook", undefined);
    assert.equal(readFileSync(file, "utf8"), "");
  });

  test("the person's comments and other settings stay as they were", () => {
    const file = fresh();
    writeSetting(file, "bell.enabled", true);
    const text = "# my quire\nnotify:\n  hook: false # not at work\n\nbell:\n  enabled: true\n";
    writeFileSync(file, text);
    writeSetting(file, "bell.enabled", false);
    assert.equal(readFileSync(file, "utf8"), text.replace("enabled: true", "enabled: false"));
  });

  test("a bad file is refused, not overwritten", () => {
    const file = fresh();
    writeSetting(file, "bell.enabled", true);
    writeFileSync(file, "bell:\n  enabled: maybe\n");
    assert.throws(() => writeSetting(file, "notify.hook", false), { code: "QUIRE_ERR_CONFIG_INVALID" });
    assert.equal(readFileSync(file, "utf8"), "bell:\n  enabled: maybe\n");
  });
});

test("values from a command line", () => {
  assert.equal(settingValue("bell.after", "90s"), 90_000);
  assert.equal(settingValue("bell.after", "later"), undefined);
  assert.equal(settingValue("notify.run", "true"), true);
  assert.equal(settingValue("notify.run", "1"), undefined);
  assert.equal(settingValue("runs.concurrency", "4"), 4);
  assert.equal(settingValue("runs.concurrency", "4.5"), undefined);
});

test("the remote cache's settings: a URL, a team, secrets' names; a token itself is not one", () => {
  assert.equal(settingValue("cache.remote-url", "https://cache.example.com/"), "https://cache.example.com");
  assert.equal(settingValue("cache.remote-url", "cache.example.com"), undefined);
  assert.equal(settingValue("cache.remote-team", "web"), "web");
  assert.equal(settingValue("cache.remote-team", "a/b"), undefined);
  assert.equal(settingValue("cache.remote-token", "TURBO_TOKEN"), "TURBO_TOKEN");
  assert.equal(settingValue("cache.remote-token", "s3cr3t-t0ken"), undefined);
  assert.equal(settingValue("cache.remote-timeout", "3s"), 3000);
  assert.equal(settingValue("cache.remote-url", "https://user:pa55word@cache.example.com"), undefined, "credentials go in a secret");
  for (const [text, value] of [
    ["cache:\n  remote-token: s3cr3t-t0ken\n", "s3cr3t-t0ken"],
    ["cache:\n  remote-url: https://user:pa55word@cache.example.com\n", "pa55word"],
  ] as const)
    assert.throws(
      () => parseSettings(text, "c.yml"),
      (error: Error) => /is not a value it takes/.test(error.message) && !error.message.includes(value),
      "a value refused where a secret's name or a URL goes is not repeated: it may be a credential",
    );
  const { settings } = parseSettings("cache:\n  remote-url: http://127.0.0.1:3000\n  remote-team: t\n  remote-token: T\n", "c.yml");
  assert.deepEqual(remoteCacheOf({ remoteCache: null }, settings), {
    url: "http://127.0.0.1:3000",
    team: "t",
    tokenSecret: "T",
    signatureKeySecret: null,
    timeoutMs: REMOTE_CACHE_TIMEOUT_MS,
  });
  assert.equal(remoteCacheOf({ remoteCache: null }, defaultSettings()), null, "none unless url, team and token are all set");
  const own = { url: "https://own.example.com", team: "o", tokenSecret: "O", signatureKeySecret: null, timeoutMs: 1 };
  assert.equal(remoteCacheOf({ remoteCache: own }, settings), own, "a pipeline's own cache.remote comes first");
});
