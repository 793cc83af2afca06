// quirectl daemon install|uninstall on Linux, through the real binary, into temporary directories only
// (QUIRE_SYSTEMD_USER_DIR; --no-activate or --dry-run, so no systemctl ever runs): the dry run writes
// nothing, install writes exactly what the dry run showed, the units pass systemd-analyze verify, the
// service's ExecStart run as written starts a working daemon, and uninstall removes the files.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { probeSocket } from "../../src/core/socket-probe.js";
import { resolvePlaces } from "../../src/core/places.js";
import { QUIRECTL, QUIRED, tempHome } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";

const linuxOnly = process.platform !== "linux" && "systemd units are written on Linux";
const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

function quirectl(args: string[], env: Record<string, string>) {
  const r = spawnSync(process.execPath, [QUIRECTL, ...args], {
    encoding: "utf8",
    timeout: 30_000,
    env: { ...process.env, QUIRE_HOME: "", ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonStep {
  action: "write" | "remove" | "run";
  path?: string;
  contents?: string;
  argv?: string[];
  command?: string;
  done: boolean;
}

/** A unit's value split into words as systemd does for ExecStart=: double quotes with \ escapes, %% and $$. */
function systemdWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (line[i] === " ") i++;
    if (i >= line.length) break;
    let word = "";
    if (line[i] === '"') {
      for (i++; line[i] !== '"'; i++) word += line[i] === "\\" ? line[++i] : line[i];
      i++;
    } else {
      while (i < line.length && line[i] !== " ") word += line[i++];
    }
    words.push(word.replace(/%%/g, "%").replace(/\$\$/g, "$"));
  }
  return words;
}

/** The values of `key=` lines in a unit. */
function settings(unit: string, key: string): string[] {
  return unit
    .split("\n")
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

test("install --dry-run prints the units and the commands and writes nothing; --json says the same", { skip: linuxOnly }, () => {
  const home = tempDir("quire-login-home-");
  const unitDir = join(tempDir("quire-units-"), "systemd", "user");
  const env = { QUIRE_SYSTEMD_USER_DIR: unitDir, QUIRE_HOME: home };
  const human = quirectl(["daemon", "install", "--dry-run", "--allow-root"], env);
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, new RegExp(`would write ${unitDir}/quired\\.socket:\\n    # quired\\.socket`));
  assert.match(human.stdout, new RegExp(`    ListenStream=${home}/quired\\.sock\\n`));
  assert.match(human.stdout, new RegExp(`would write ${unitDir}/quired\\.service:`));
  assert.match(human.stdout, new RegExp(`    ExecStart=${process.execPath} ${QUIRED} --home ${home} --allow-root\\n`));
  assert.match(human.stdout, /would run: systemctl --user daemon-reload\nwould run: systemctl --user enable --now quired\.socket\n/);
  assert.match(human.stdout, /nothing was written or run/);
  assert.equal(existsSync(unitDir), false, "the dry run created nothing");

  const json = quirectl(["daemon", "install", "--dry-run", "--allow-root", "--json"], env);
  assert.equal(json.code, 0, json.stderr);
  const plan = JSON.parse(json.stdout);
  assert.equal(plan.dry_run, true);
  assert.equal(plan.activate, false);
  assert.equal(plan.socket, join(home, "quired.sock"));
  const steps = plan.steps as JsonStep[];
  assert.deepEqual(
    steps.map((s) => [s.action, s.path ?? s.command, s.done]),
    [
      ["write", join(unitDir, "quired.socket"), false],
      ["write", join(unitDir, "quired.service"), false],
      ["run", "systemctl --user daemon-reload", false],
      ["run", "systemctl --user enable --now quired.socket", false],
    ],
  );
  // The human output shows the full contents the JSON carries.
  for (const s of steps.filter((s) => s.action === "write")) {
    assert.ok(
      human.stdout.includes(
        s
          .contents!.trimEnd()
          .split("\n")
          .map((l) => (l ? `    ${l}` : ""))
          .join("\n"),
      ),
      s.path,
    );
  }
  assert.equal(existsSync(unitDir), false);
});

test("install --no-activate writes exactly the dry run's files; uninstall removes them", { skip: linuxOnly }, () => {
  const home = tempDir("quire-login-home-");
  const unitDir = join(tempDir("quire-units-"), "user");
  const env = { QUIRE_SYSTEMD_USER_DIR: unitDir };
  const plan = JSON.parse(quirectl(["--home", home, "daemon", "install", "--dry-run", "--json"], env).stdout);
  const r = quirectl(["--home", home, "daemon", "install", "--no-activate", "--json"], env);
  assert.equal(r.code, 0, r.stderr);
  const installed = JSON.parse(r.stdout);
  assert.equal(installed.activate, false);
  const writes = (installed.steps as JsonStep[]).filter((s) => s.action === "write");
  assert.deepEqual(readdirSync(unitDir).sort(), ["quired.service", "quired.socket"]);
  for (const s of plan.steps as JsonStep[]) {
    if (s.action === "write") assert.equal(readFileSync(s.path!, "utf8"), s.contents, `${s.path} is what the dry run printed`);
  }
  assert.ok(writes.every((s) => s.done));
  assert.ok(
    (installed.steps as JsonStep[]).filter((s) => s.action === "run").every((s) => !s.done),
    "no systemctl ran",
  );

  const human = quirectl(["--home", home, "daemon", "install", "--no-activate"], env);
  assert.match(human.stdout, /not run \(--no-activate\): systemctl --user enable --now quired\.socket/);
  assert.match(human.stdout, /to activate: systemctl --user daemon-reload && systemctl --user enable --now quired\.socket/);

  const dry = quirectl(["daemon", "uninstall", "--dry-run"], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would run: systemctl --user disable --now quired\.socket quired\.service\n/);
  assert.match(dry.stdout, new RegExp(`would remove ${unitDir}/quired\\.socket\\nwould remove ${unitDir}/quired\\.service\\n`));
  assert.deepEqual(readdirSync(unitDir).sort(), ["quired.service", "quired.socket"], "the dry run removed nothing");

  const removed = quirectl(["daemon", "uninstall", "--no-activate", "--json"], env);
  assert.equal(removed.code, 0, removed.stderr);
  assert.deepEqual(readdirSync(unitDir), []);
  assert.deepEqual(
    (JSON.parse(removed.stdout).steps as JsonStep[]).filter((s) => s.action === "remove").map((s) => s.path),
    [join(unitDir, "quired.socket"), join(unitDir, "quired.service")],
  );
  const again = quirectl(["daemon", "uninstall", "--no-activate"], env);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /Nothing to uninstall/);
});

test("the units pass systemd-analyze verify, with a quire home and with the XDG places", {
  skip: linuxOnly || (!existsSync("/usr/bin/systemd-analyze") && "no systemd-analyze"),
}, () => {
  for (const homeArgs of [["--home", tempDir("quire-login-home-")], []]) {
    const unitDir = tempDir("quire-units-");
    const r = quirectl([...homeArgs, "daemon", "install", "--no-activate", "--allow-root"], {
      QUIRE_SYSTEMD_USER_DIR: unitDir,
      XDG_RUNTIME_DIR: "/run/user/4242",
      XDG_STATE_HOME: "/home/somebody/.local/state",
      TMPDIR: "",
    });
    assert.equal(r.code, 0, r.stderr);
    // --user needs a runtime directory to set up its lookup paths; a container has no user session (no
    // /run/user/UID), so verify gets an empty temporary one. Nothing else is filtered: any warning fails.
    const runtime = tempDir("quire-verify-runtime-");
    const verify = spawnSync("systemd-analyze", ["verify", "--user", join(unitDir, "quired.socket"), join(unitDir, "quired.service")], {
      encoding: "utf8",
      env: { ...process.env, XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_LEVEL: "notice" },
    });
    assert.equal(verify.status, 0, verify.stderr);
    assert.equal(verify.stderr.trim(), "", "systemd-analyze verify printed no warning");
    const service = readFileSync(join(unitDir, "quired.service"), "utf8");
    if (homeArgs.length === 0) {
      assert.match(readFileSync(join(unitDir, "quired.socket"), "utf8"), /\nListenStream=\/run\/user\/4242\/quire\/quired\.sock\n/);
      assert.deepEqual(settings(service, "Environment").slice(1), [
        '"XDG_RUNTIME_DIR=/run/user/4242"',
        '"XDG_STATE_HOME=/home/somebody/.local/state"',
      ]);
      assert.deepEqual(settings(service, "UnsetEnvironment"), ["TMPDIR"], "unset when installing, so unset for quired too");
    }
  }
});

test("the service's ExecStart, run as written with its Environment=, starts a working daemon", { skip: linuxOnly }, async () => {
  const home = tempHome();
  dirs.push(home);
  const unitDir = tempDir("quire-units-");
  const r = quirectl(["daemon", "install", "--no-activate", "--allow-root"], { QUIRE_SYSTEMD_USER_DIR: unitDir, QUIRE_HOME: home });
  assert.equal(r.code, 0, r.stderr);
  const unit = readFileSync(join(unitDir, "quired.service"), "utf8");
  const [execStart] = settings(unit, "ExecStart");
  const [file, ...args] = systemdWords(execStart!);
  assert.equal(file, process.execPath);
  assert.deepEqual(args, [QUIRED, "--home", home, "--allow-root"]);
  const env: NodeJS.ProcessEnv = { ...process.env, QUIRE_HOME: "" };
  for (const value of settings(unit, "Environment")) {
    const [assignment] = systemdWords(value);
    env[assignment!.slice(0, assignment!.indexOf("="))] = assignment!.slice(assignment!.indexOf("=") + 1);
  }
  for (const name of settings(unit, "UnsetEnvironment").flatMap((v) => v.split(" "))) delete env[name];

  const child = spawn(file!, args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (t: string) => (stderr += t));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  try {
    const socket = resolvePlaces({ home }).socket;
    await eventually(
      async () => {
        assert.equal(child.exitCode, null, `quired exited: ${stderr}`);
        return probeSocket(socket, 200);
      },
      () => `quired to start: ${stderr}`,
    );
    const status = quirectl(["--home", home, "status", "--json"], { QUIRE_NO_AUTOSTART: "1" });
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).pid, child.pid);
    const stopped = quirectl(["--home", home, "daemon", "stop", "--json"], { QUIRE_NO_AUTOSTART: "1" });
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(JSON.parse(stopped.stdout).stopped, true);
    assert.equal(await exited, 0, stderr);
  } finally {
    child.kill("SIGKILL");
  }
});
