// quirectl doctor: what stands between this machine and a working quire, each finding with the command or
// action that fixes it. It only looks: it never starts the daemon, never writes the store.
import { execFile } from "node:child_process";
import { existsSync, lstatSync, readFileSync, statSync, type Stats } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeSpace, fileSystemSpace, formatBytes, type FileSystemSpace } from "../ci/disk-space.js";
import { quireDiskUse, type DiskUse } from "../ci/gc/disk-usage.js";
import { adminCall, AdminOp } from "../client/admin-calls.js";
import { DaemonUnreachableError } from "../client/errors.js";
import { resolvePlaces, type Places } from "../core/places.js";
import { probeSocket } from "../core/socket-probe.js";
import type { DaemonStatus } from "../gen/quire/v1/admin.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printJson, println, visible } from "./output.js";

export interface Finding {
  check: string;
  ok: boolean;
  detail: string;
  /** The command or action that fixes it; null when ok. */
  fix: string | null;
}

const PACKAGE_ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** The quired this install runs: what an autostart unit must name. */
export const QUIRED_BIN = join(PACKAGE_ROOT, "bin", "quired.js");
const MIN_NODE = [20, 19] as const;
const LOW_DISK_BYTES = 1024 ** 3;
const LOW_PID_MAX = 32_768;
const LOW_OPEN_FILES = 1_024;
const INSTALL = "quirectl daemon install";

export async function doctor(args: GlobalArgs): Promise<number> {
  const places = resolvePlaces({ home: args.home });
  const [findings, use] = await Promise.all([runChecks(places), quireDiskUse(places)]);
  const ok = findings.every((f) => f.ok);
  const total = use.reduce((sum, part) => sum + part.bytes, 0);
  if (args.json) printJson({ ok, checks: findings, disk: { dir: places.dataDir, bytes: total, parts: use } });
  else {
    const width = Math.max(...findings.map((f) => f.check.length));
    for (const f of findings) {
      println(`${f.ok ? "✓" : "✗"} ${f.check.padEnd(width)}  ${visible(f.detail)}`);
      if (!f.ok && f.fix) println(`  ${" ".repeat(width)}  fix: ${visible(f.fix)}`);
    }
    println();
    printDiskUse(places.dataDir, use, total);
    println();
    println(ok ? "everything looks right" : `${findings.filter((f) => !f.ok).length} of ${findings.length} checks failed`);
  }
  return ok ? ExitCode.Ok : ExitCode.Failed;
}

/** What quire keeps on disk and where, part by part, and how the daemon keeps it bounded. */
function printDiskUse(dir: string, use: DiskUse[], total: number): void {
  println(`quire keeps ${formatBytes(total)} in ${visible(dir)}:`);
  const width = Math.max(...use.map((part) => part.name.length));
  for (const part of use) println(`  ${part.name.padEnd(width)}  ${formatBytes(part.bytes).padStart(10)}  ${visible(part.path)}`);
  println("  (the daemon removes old runs, logs, kept workspaces and cache entries by its limits: quirectl gc --dry-run shows them)");
}

export async function runChecks(places: Places): Promise<Finding[]> {
  const [pty, sqlite] = await Promise.all([
    loadsInChild("node-pty", "r('node-pty')"),
    loadsInChild("better-sqlite3", "new (r('better-sqlite3'))(':memory:').prepare('select 1').get()"),
  ]);
  const daemon = await daemonChecks(places);
  return [
    nodeVersion(),
    pty,
    sqlite,
    socketDirectory(places),
    await staleSocket(places),
    ...daemon,
    await store(places, sqlite.ok),
    diskSpace(places),
    ...limits(),
    autostart(),
  ];
}

function finding(check: string, ok: boolean, detail: string, fix: string | null = null): Finding {
  return { check, ok, detail, fix: ok ? null : fix };
}

function nodeVersion(): Finding {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return finding(
    "node",
    ok,
    `v${process.versions.node} (quire needs >= ${MIN_NODE.join(".")})`,
    `install Node.js ${MIN_NODE.join(".")} or newer (https://nodejs.org), then reinstall quire so its native modules are rebuilt`,
  );
}

/**
 * Loads a native module in a child process: one that fails to load, or crashes the process loading it,
 * is a finding here, not the end of doctor.
 */
function loadsInChild(name: string, use: string): Promise<Finding> {
  const script = `const r = require("node:module").createRequire(process.argv[1]); ${use}; process.stdout.write("ok")`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["-e", script, join(PACKAGE_ROOT, "package.json")],
      { timeout: 15_000, cwd: PACKAGE_ROOT },
      (error, stdout, stderr) => {
        if (!error && stdout === "ok") return resolve(finding(name, true, "loads"));
        const how = error?.signal
          ? `the process loading it was killed by ${error.signal}`
          : (lastLine(stderr) ?? error?.message ?? "it did not load");
        resolve(
          finding(
            name,
            false,
            `does not load: ${how}`,
            `rebuild it for this Node.js (${process.version}): cd ${PACKAGE_ROOT} && npm rebuild ${name}`,
          ),
        );
      },
    );
  });
}

function lastLine(text: string): string | undefined {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("at ") && !l.startsWith("^") && !l.startsWith("Node.js v"));
  return lines.find((l) => /Error/.test(l)) ?? lines.at(-1);
}

function socketDirectory(places: Places): Finding {
  const dir = places.socketDir;
  if (process.platform === "win32") return finding("socket directory", true, "named pipes: no directory to check");
  let st: Stats;
  try {
    st = statSync(dir);
  } catch {
    return finding("socket directory", true, `${dir} does not exist yet; quired creates it (0700) when it starts`);
  }
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory())
    return finding("socket directory", false, `${dir} is not a directory`, `move ${dir} away; quired creates the directory itself`);
  if (st.uid !== uid)
    return finding(
      "socket directory",
      false,
      `${dir} is owned by uid ${st.uid}, not you (uid ${uid}); quired refuses it`,
      `chown ${uid} ${dir} (as its owner or root), or use another QUIRE_HOME`,
    );
  const mode = st.mode & 0o777;
  if (mode !== 0o700)
    return finding(
      "socket directory",
      false,
      `${dir} has mode ${mode.toString(8).padStart(4, "0")}, not 0700; quired refuses it`,
      `chmod 700 ${dir}`,
    );
  return finding("socket directory", true, `${dir}: 0700, yours`);
}

async function staleSocket(places: Places): Promise<Finding> {
  const path = places.socket;
  if (process.platform === "win32") return finding("socket", true, `named pipe ${path}`);
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return finding("socket", true, `no socket at ${path} (quired is not running)`);
  }
  if (!st.isSocket())
    return finding("socket", false, `${path} is not a socket; quired will not start while it is there`, `move ${path} away`);
  if (await probeSocket(path, 1_000)) return finding("socket", true, `${path} answers`);
  return finding(
    "socket",
    false,
    `${path} is stale: nobody answers on it (a quired that died without cleaning up)`,
    `quirectl daemon start (quired replaces a stale socket), or rm ${path}`,
  );
}

async function daemonChecks(places: Places): Promise<Finding[]> {
  let status: DaemonStatus;
  try {
    status = (await adminCall(AdminOp.STATUS, { home: places.home, timeoutMs: 3_000 })).status!;
  } catch (error) {
    if (error instanceof DaemonUnreachableError && error.nobodyListening) {
      const autostart = process.env.QUIRE_NO_AUTOSTART !== "1";
      return [
        finding(
          "daemon",
          autostart,
          `not running${autostart ? "; quirectl starts it on first use" : " and autostart is off (QUIRE_NO_AUTOSTART=1)"}`,
          "quirectl daemon start",
        ),
      ];
    }
    return [finding("daemon", false, (error as Error).message, "quirectl daemon restart; if it persists, see quirectl daemon log")];
  }
  const ready = await adminCall(AdminOp.READYZ, { home: places.home, timeoutMs: 3_000 }).catch((error: Error) => ({
    ok: false,
    detail: error.message,
  }));
  const findings = [
    finding(
      "daemon",
      ready.ok,
      `quired ${status.daemonVersion} (pid ${status.pid}) ${ready.ok ? "ready" : `not ready: ${ready.detail}`}`,
      "quirectl daemon restart; quirectl daemon log shows why",
    ),
  ];
  for (const b of status.backends) {
    const down = b.state === "failed" || b.state === "backoff";
    const restarts = b.restarts ? `, ${b.restarts} restart${b.restarts === 1 ? "" : "s"}` : "";
    const last = b.lastError ? ` (last: ${b.lastError})` : "";
    // A backend that died since quired started is a finding even once respawned: its work was cut short.
    const ok = !down && b.restarts === 0;
    findings.push(
      finding(
        `backend ${b.service}`,
        ok,
        `${b.state}${b.pid ? ` pid ${b.pid}` : ""}${restarts}${restarts || down ? last : ""}`,
        "quirectl daemon log shows why it died; quirectl daemon restart starts it afresh",
      ),
    );
  }
  return findings;
}

async function store(places: Places, sqliteLoads: boolean): Promise<Finding> {
  const file = places.database;
  if (!existsSync(file)) return finding("store", true, `${file} does not exist yet; the ci backend creates it`);
  if (!sqliteLoads)
    return finding("store", false, `cannot check ${file}: better-sqlite3 does not load`, "fix better-sqlite3 first (above)");
  // Loaded only now, once a child process has shown the native module loads.
  const { inspectStore, SCHEMA_VERSION } = await import("../ci/store/index.js");
  let inspection: ReturnType<typeof inspectStore>;
  try {
    inspection = inspectStore(file);
  } catch (error) {
    return finding(
      "store",
      false,
      `${file} cannot be opened: ${(error as Error).message}`,
      `check the file's owner and permissions; if it is not a quire database, move it away`,
    );
  }
  const { version, integrity } = inspection;
  if (version > SCHEMA_VERSION) {
    return finding(
      "store",
      false,
      `${file} is at schema ${version}, newer than this quire knows (${SCHEMA_VERSION}): a newer quire wrote it`,
      "upgrade quire to the version that wrote it, or use another QUIRE_HOME",
    );
  }
  if (integrity.length !== 1 || integrity[0] !== "ok") {
    return finding(
      "store",
      false,
      `${file} fails PRAGMA integrity_check: ${integrity.slice(0, 3).join("; ")}`,
      `stop quired (quirectl daemon stop), keep a copy, then recover it: sqlite3 ${file} .recover | sqlite3 ${file}.recovered (or move it away to start with no history)`,
    );
  }
  const migrate = version < SCHEMA_VERSION ? `; quired migrates it to ${SCHEMA_VERSION} on start` : "";
  return finding("store", true, `${file}: integrity ok, schema ${version}${migrate}`);
}

/** Free space where the store and the logs are, named by its file system: a full disk fails the run that fills it. */
function diskSpace(places: Places): Finding {
  let space: FileSystemSpace;
  try {
    space = fileSystemSpace(places.dataDir);
  } catch (error) {
    return finding(
      "disk",
      false,
      `cannot read free space for ${places.dataDir}: ${(error as Error).message}`,
      "check that the directory is readable",
    );
  }
  const ok = space.freeBytes >= LOW_DISK_BYTES;
  const low = ok ? "" : ` (under ${formatBytes(LOW_DISK_BYTES)}: a run that writes more fails when the disk fills up)`;
  return finding(
    "disk",
    ok,
    `${describeSpace(space)}, holding ${places.dataDir}${low}`,
    `free space on ${space.mountPoint}, e.g. remove old logs: rm -r ${places.logDir}/<old run>`,
  );
}

function limits(): Finding[] {
  if (process.platform !== "linux") return [finding("limits", true, `not checked on ${process.platform}`)];
  const out: Finding[] = [];
  try {
    const pidMax = Number(readFileSync("/proc/sys/kernel/pid_max", "utf8").trim());
    out.push(
      finding(
        "pid_max",
        pidMax >= LOW_PID_MAX,
        `${pidMax}${pidMax >= LOW_PID_MAX ? "" : ` (under ${LOW_PID_MAX}: busy pipelines may run out of process ids)`}`,
        `sudo sysctl -w kernel.pid_max=4194304 (and set it in /etc/sysctl.d to keep it)`,
      ),
    );
  } catch (error) {
    out.push(finding("pid_max", true, `cannot read /proc/sys/kernel/pid_max: ${(error as Error).message}`));
  }
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    const n = soft === "unlimited" ? Infinity : Number(soft);
    out.push(
      finding(
        "open files",
        n >= LOW_OPEN_FILES,
        `soft limit ${soft}${n >= LOW_OPEN_FILES ? "" : ` (under ${LOW_OPEN_FILES}: quired runs out of descriptors with many clients or sessions)`}`,
        `ulimit -n 4096 in the shell that starts quired (or LimitNOFILE=4096 in its systemd unit)`,
      ),
    );
  } catch (error) {
    out.push(finding("open files", true, `cannot read /proc/self/limits: ${(error as Error).message}`));
  }
  return out;
}

/** Where systemd looks for user units: $QUIRE_SYSTEMD_USER_DIR (tests), else $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user. */
export function systemdUserDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.QUIRE_SYSTEMD_USER_DIR) return env.QUIRE_SYSTEMD_USER_DIR;
  return join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "systemd", "user");
}

function autostart(): Finding {
  if (process.platform !== "linux")
    return finding("autostart", true, `not checked on ${process.platform}; quirectl starts quired on first use`);
  const dir = systemdUserDir();
  const service = join(dir, "quired.service");
  const socket = join(dir, "quired.socket");
  if (!existsSync(service)) {
    const what = existsSync(socket)
      ? `${socket} is there but ${service} is not`
      : `no quired.service in ${dir} (quirectl still starts quired on first use)`;
    return finding("autostart", false, `not installed: ${what}`, INSTALL);
  }
  let text: string;
  try {
    text = readFileSync(service, "utf8");
  } catch (error) {
    return finding("autostart", false, `cannot read ${service}: ${(error as Error).message}`, INSTALL);
  }
  const exec = text
    .split("\n")
    .map((l) => l.trim())
    .find((l) => l.startsWith("ExecStart="))
    ?.slice("ExecStart=".length);
  if (!exec) return finding("autostart", false, `${service} has no ExecStart=`, INSTALL);
  if (!exec.split(/\s+/).some((word) => word.replace(/^["']|["']$/g, "") === QUIRED_BIN)) {
    return finding("autostart", false, `${service} runs "${exec}", not this install's ${QUIRED_BIN}`, INSTALL);
  }
  return finding("autostart", true, `${service}${existsSync(socket) ? " and quired.socket" : ""} run this install's quired`);
}
