// The text of the login units for every platform, as data. macOS and Windows are only generated and
// checked here (never loaded: launchctl and schtasks do not exist on this machine); Linux's units are
// verified and run in login.test.ts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { installSteps, uninstallSteps, unitEnvironment, type LoginInputs, type Step } from "../../src/cli/login-units.js";
import { resolvePlaces } from "../../src/core/places.js";
import { quiredCommand, QUIRED_BIN } from "../../src/core/quired-command.js";

function inputs(platform: NodeJS.Platform, home: string | undefined, env: NodeJS.ProcessEnv): LoginInputs {
  const places = resolvePlaces({ home, env, platform });
  return {
    platform,
    places,
    command: quiredCommand(places, ["--allow-root"]),
    environment: unitEnvironment(places, env, platform),
    env,
    uid: 501,
  };
}

const writes = (steps: Step[]) => steps.filter((s): s is Extract<Step, { action: "write" }> => s.action === "write");
const runs = (steps: Step[]) => steps.filter((s): s is Extract<Step, { action: "run" }> => s.action === "run").map((s) => s.argv.join(" "));

test("quiredCommand: the node running us, bin/quired.js, an absolute --home, then the flags", () => {
  const command = quiredCommand(resolvePlaces({ home: "rel/home", platform: "linux" }), ["--allow-root"]);
  assert.equal(command.file, process.execPath);
  assert.deepEqual(command.args, [QUIRED_BIN, "--home", `${process.cwd()}/rel/home`, "--allow-root"]);
  assert.deepEqual(quiredCommand(resolvePlaces({ env: { XDG_RUNTIME_DIR: "/run/user/1" }, platform: "linux" })).args, [QUIRED_BIN]);
});

test("systemd: specifiers, variables, quotes and spaces in values are escaped", () => {
  const steps = installSteps(inputs("linux", "/home/a b/100%/$x", { PATH: '/bin:/opt/"q"', QUIRE_SYSTEMD_USER_DIR: "/u" }));
  const [socket, service] = writes(steps);
  assert.equal(socket!.path, "/u/quired.socket");
  assert.match(socket!.contents, /\nListenStream=\/home\/a b\/100%%\/\$x\/quired\.sock\n/);
  assert.ok(
    service!.contents.includes(`ExecStart=${process.execPath} ${QUIRED_BIN} --home "/home/a b/100%%/$$x" --allow-root\n`),
    service!.contents,
  );
  assert.ok(service!.contents.includes(`Environment="PATH=/bin:/opt/\\"q\\""\n`), service!.contents);
  assert.doesNotMatch(service!.contents, /UnsetEnvironment/, "with a home, only PATH is pinned");
  assert.throws(() => installSteps(inputs("linux", "/home/a\nb", { QUIRE_SYSTEMD_USER_DIR: "/u" })), { code: "QUIRE_ERR_LOGIN_VALUE" });
});

test("launchd (written, untested here): an agent with the same command line, PATH and place variables; bootstrap into gui/UID", () => {
  const env = {
    PATH: "/usr/bin:/opt/homebrew/bin",
    TMPDIR: "/var/folders/x/T/",
    HOME: "/Users/a",
    QUIRE_LAUNCH_AGENTS_DIR: "/Users/a/Library/LaunchAgents",
  };
  const i = inputs("darwin", undefined, env);
  const steps = installSteps(i);
  const [plist] = writes(steps);
  assert.equal(plist!.path, "/Users/a/Library/LaunchAgents/quire.quired.plist");
  const words = [...plist!.contents.matchAll(/<string>([^<]*)<\/string>/g)].map((m) => m[1]);
  assert.deepEqual(words, ["quire.quired", i.command.file, ...i.command.args, "/usr/bin:/opt/homebrew/bin", "/var/folders/x/T/"]);
  assert.match(plist!.contents, /<key>RunAtLoad<\/key>\n {2}<true\/>/);
  assert.deepEqual(runs(steps), [
    "launchctl bootout gui/501/quire.quired",
    "launchctl bootstrap gui/501 /Users/a/Library/LaunchAgents/quire.quired.plist",
  ]);
  assert.deepEqual(runs(uninstallSteps("darwin", 501, [plist!.path])), ["launchctl bootout gui/501/quire.quired"]);
});

test("Windows (written, untested here): a logon task running a launcher with the same command line", () => {
  const env = { PATH: "C:\\Windows;C:\\Program Files\\nodejs", LOCALAPPDATA: "C:\\Users\\a\\AppData\\Local" };
  const i = inputs("win32", "C:\\q 100%", env);
  const steps = installSteps(i);
  const [launcher] = writes(steps);
  assert.equal(launcher!.path, "C:\\Users\\a\\AppData\\Local\\quire\\quired-logon.cmd");
  assert.ok(launcher!.contents.includes(`set "PATH=C:\\Windows;C:\\Program Files\\nodejs"\r\n`));
  assert.ok(launcher!.contents.includes(`"--home" "${i.command.args[2]!.replace(/%/g, "%%")}" "--allow-root"\r\n`), launcher!.contents);
  assert.deepEqual(runs(steps), [
    `schtasks /Create /F /SC ONLOGON /RL LIMITED /TN quired /TR "${launcher!.path}"`,
    "schtasks /Run /TN quired",
  ]);
  assert.deepEqual(runs(uninstallSteps("win32", 0, [launcher!.path])), ["schtasks /Delete /F /TN quired"]);
});

test("an unsupported platform is refused by name", () => {
  assert.throws(() => installSteps(inputs("freebsd", "/h", {})), { code: "QUIRE_ERR_LOGIN_UNSUPPORTED", message: /not on freebsd/ });
});
