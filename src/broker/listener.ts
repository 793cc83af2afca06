// The broker's listening socket and its safety rules (ARCHITECTURE.md, "A Hello, from the socket to the backend"): a 0700 directory owned by the
// user, a 0600 socket, a live socket never unlinked, a stale one detected by probing and replaced, and
// nothing but a socket ever removed.
import { chmodSync, lstatSync, mkdirSync, unlinkSync, type Stats } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { probeSocket } from "../daemon/socket-probe.js";
import { DaemonRunningError, SocketDirInsecureError, SocketPathOccupiedError, SocketPathTooLongError } from "./errors.js";

/** sun_path is 108 bytes on Linux and 104 on macOS, the terminating NUL included. */
const SOCKET_PATH_LIMIT = process.platform === "linux" ? 107 : 103;

/** Creates the directory 0700 if missing; refuses one that others could reach into. */
export function secureDirectory(dir: string): void {
  if (process.platform === "win32") return void mkdirSync(dir, { recursive: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (st.isSymbolicLink()) throw new SocketDirInsecureError(dir, "is a symbolic link", "point QUIRE_HOME at a real directory");
  if (!st.isDirectory()) throw new SocketDirInsecureError(dir, "is not a directory", "remove it or choose another QUIRE_HOME");
  const uid = process.getuid!();
  if (st.uid !== uid) throw new SocketDirInsecureError(dir, `is owned by uid ${st.uid}, not by you (uid ${uid})`, "choose a directory you own");
  const mode = st.mode & 0o777;
  if (mode & 0o077) {
    throw new SocketDirInsecureError(dir, `has mode ${mode.toString(8).padStart(4, "0")}, open to other users`, `run: chmod 700 ${dir}`);
  }
}

/** Listens on `path`, replacing a stale socket; throws DaemonRunningError when a live one is there. */
export async function listenExclusive(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  if (process.platform !== "win32" && Buffer.byteLength(path) > SOCKET_PATH_LIMIT) throw new SocketPathTooLongError(path, SOCKET_PATH_LIMIT);
  refuseNonSocket(path);
  const server = createServer({ pauseOnConnect: false }, onConnection);
  for (let attempt = 0; ; attempt++) {
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(path, () => {
          server.off("error", reject);
          resolve();
        });
      });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt > 0) throw error;
      if (process.platform === "win32" || (await probeSocket(path))) throw new DaemonRunningError(path);
      // Connecting to something that is not a socket is refused too: only a socket is stale, and removable.
      refuseNonSocket(path);
      unlinkSync(path);
    }
  }
  if (process.platform !== "win32") chmodSync(path, 0o600);
  return server;
}

/** Throws SocketPathOccupiedError when something other than a socket is at `path`. */
function refuseNonSocket(path: string): void {
  if (process.platform === "win32") return;
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
    throw error;
  }
  if (!st.isSocket()) throw new SocketPathOccupiedError(path, fileKind(st));
}

function fileKind(st: Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isDirectory()) return "a directory";
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isFIFO()) return "a named pipe";
  return "a device or other special file";
}
