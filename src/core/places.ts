// Where quire keeps things: sockets, the database and logs (README.md, "Using it").
import { homedir, tmpdir, userInfo } from "node:os";
import { join } from "node:path";

export interface Places {
  /** QUIRE_HOME when set: everything lives in it. */
  home: string | undefined;
  /** Directory holding the sockets (0700, owned by the user). Unused on Windows. */
  socketDir: string;
  /** The broker's socket (a named pipe on Windows). */
  socket: string;
  /** quire.db, logs/ and quired.log live here. */
  dataDir: string;
  logDir: string;
  logFile: string;
  database: string;
  /**
   * quire's configuration file: QUIRE_HOME/config.yml with a home (so a test's home is all of its world),
   * else $XDG_CONFIG_HOME/quire/config.yml (~/.config/quire/config.yml), %APPDATA%\quire\config.yml on Windows.
   */
  configFile: string;
  /** The socket of one service's backend. */
  backendSocket(service: string): string;
}

export interface PlacesOptions {
  home?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
}

export function resolvePlaces(options: PlacesOptions = {}): Places {
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const home = options.home ?? (env.QUIRE_HOME || undefined);
  if (home) {
    return build({
      home,
      socketDir: home,
      dataDir: home,
      configFile: join(home, "config.yml"),
      socket: platform === "win32" ? pipeName(home) : join(home, "quired.sock"),
      backendSocket: (service) => (platform === "win32" ? pipeName(home, service) : join(home, `backend-${service}.sock`)),
    });
  }
  if (platform === "win32") {
    const user = userInfo().username;
    const dataDir = join(env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "quire");
    return build({
      home: undefined,
      socketDir: dataDir,
      dataDir,
      configFile: join(env.APPDATA || join(homedir(), "AppData", "Roaming"), "quire", "config.yml"),
      socket: `\\\\.\\pipe\\quire-${user}`,
      backendSocket: (service) => `\\\\.\\pipe\\quire-${user}-backend-${service}`,
    });
  }
  const uid = process.getuid?.() ?? 0;
  const socketDir = env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, "quire") : join(env.TMPDIR || tmpdir(), `quire-${uid}`);
  const dataDir = join(env.XDG_STATE_HOME || join(homedir(), ".local", "state"), "quire");
  return build({
    home: undefined,
    socketDir,
    dataDir,
    configFile: join(env.XDG_CONFIG_HOME || join(homedir(), ".config"), "quire", "config.yml"),
    socket: join(socketDir, "quired.sock"),
    backendSocket: (service) => join(socketDir, `backend-${service}.sock`),
  });
}

function build(p: Pick<Places, "home" | "socketDir" | "dataDir" | "configFile" | "socket" | "backendSocket">): Places {
  return { ...p, logDir: join(p.dataDir, "logs"), logFile: join(p.dataDir, "quired.log"), database: join(p.dataDir, "quire.db") };
}

/** A home directory on Windows maps to pipe names derived from it, so two homes never share a pipe. */
function pipeName(home: string, service?: string): string {
  let hash = 0;
  for (const c of home.toLowerCase()) hash = (Math.imul(hash, 31) + c.charCodeAt(0)) >>> 0;
  return `\\\\.\\pipe\\quire-${hash.toString(16)}${service ? `-backend-${service}` : ""}`;
}
