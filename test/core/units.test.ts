// The shared layer's small pure parts: semver comparison and places.
import assert from "node:assert/strict";
import { homedir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { resolvePlaces } from "../../src/core/places.js";
import { compareVersions, parseVersion } from "../../src/core/semver.js";

test("semver: parse and order, prereleases below their release", () => {
  const order = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.1.0",
    "2.0.0",
  ];
  for (let i = 1; i < order.length; i++) {
    assert.equal(compareVersions(parseVersion(order[i - 1]!)!, parseVersion(order[i]!)!), -1, `${order[i - 1]} < ${order[i]}`);
    assert.equal(compareVersions(parseVersion(order[i]!)!, parseVersion(order[i - 1]!)!), 1);
  }
  assert.equal(compareVersions(parseVersion("1.2.3+build")!, parseVersion("1.2.3")!), 0);
  for (const bad of ["1.2", "01.2.3", "v1.2.3", "1.2.3-", ""]) assert.equal(parseVersion(bad), undefined, bad);
});

test("places: QUIRE_HOME holds everything; otherwise XDG", () => {
  const home = resolvePlaces({ home: "/h", platform: "linux" });
  assert.equal(home.socket, "/h/quired.sock");
  assert.equal(home.backendSocket("ci"), "/h/backend-ci.sock");
  assert.equal(home.database, "/h/quire.db");
  assert.equal(home.logFile, "/h/quired.log");
  assert.equal(home.logDir, "/h/logs");

  const xdg = resolvePlaces({ env: { XDG_RUNTIME_DIR: "/run/user/1000", XDG_STATE_HOME: "/s" }, platform: "linux" });
  assert.equal(xdg.socket, "/run/user/1000/quire/quired.sock");
  assert.equal(xdg.database, "/s/quire/quire.db");

  const fallback = resolvePlaces({ env: { TMPDIR: "/t" }, platform: "linux" });
  assert.equal(fallback.socket, join("/t", `quire-${process.getuid!()}`, "quired.sock"));

  const win = resolvePlaces({ env: { LOCALAPPDATA: "C:\\Users\\me\\AppData\\Local" }, platform: "win32" });
  assert.ok(win.socket.startsWith(String.raw`\\.\pipe\quire-`), win.socket);
  assert.ok(win.backendSocket("echo").endsWith("-backend-echo"));
});

test("places: the configuration file is in QUIRE_HOME with a home, else in the XDG config directory", () => {
  assert.equal(resolvePlaces({ home: "/h", platform: "linux" }).configFile, "/h/config.yml");
  assert.equal(resolvePlaces({ env: { XDG_CONFIG_HOME: "/c" }, platform: "linux" }).configFile, "/c/quire/config.yml");
  assert.equal(resolvePlaces({ env: {}, platform: "linux" }).configFile, join(homedir(), ".config", "quire", "config.yml"));
  assert.equal(
    resolvePlaces({ env: { APPDATA: "C:\\Users\\me\\AppData\\Roaming" }, platform: "win32" }).configFile,
    join("C:\\Users\\me\\AppData\\Roaming", "quire", "config.yml"),
  );
});
