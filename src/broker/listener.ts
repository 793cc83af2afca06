// The broker's listening socket and its safety rules (ARCHITECTURE.md, "A Hello, from the socket to the backend"): a 0700 directory owned by the
// user, a 0600 socket, a live socket never unlinked, a stale one detected by probing and replaced, and
// nothing but a socket ever removed. A socket systemd hands in (socket activation) is served only after
// the same checks, and once it is shown to be a listening Unix stream socket bound to our path. Either way
// quired first takes the daemon lock (daemon-lock.ts), so only one quired ever touches the path.
import { chmodSync, fstatSync, lstatSync, mkdirSync, readFileSync, unlinkSync, type Stats } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { probeSocket } from "../core/socket-probe.js";
import { daemonLockHolder, takeDaemonLock, type DaemonLock } from "./daemon-lock.js";
import {
  DaemonRunningError,
  SocketActivationError,
  SocketDirInsecureError,
  SocketPathOccupiedError,
  SocketPathTooLongError,
} from "./errors.js";

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
  if (st.uid !== uid)
    throw new SocketDirInsecureError(dir, `is owned by uid ${st.uid}, not by you (uid ${uid})`, "choose a directory you own");
  const mode = st.mode & 0o777;
  if (mode & 0o077) {
    throw new SocketDirInsecureError(dir, `has mode ${mode.toString(8).padStart(4, "0")}, open to other users`, `run: chmod 700 ${dir}`);
  }
}

/**
 * Takes the daemon lock for the socket at `path`, which only one quired holds, until it releases it after
 * its drain; throws DaemonRunningError naming the holder. A quired that is to listen itself (not
 * `activated`) first refuses a socket that answers: another quired serves it, or systemd holds it for the
 * quired it is starting, which must not find the lock taken by one that is about to give up.
 */
export async function claimSocket(path: string, activated: boolean): Promise<DaemonLock> {
  if (!activated && process.platform !== "win32" && socketAt(path) && (await probeSocket(path)))
    throw new DaemonRunningError(path, await daemonLockHolder(path));
  return takeDaemonLock(path);
}

/**
 * Listens on `path`, replacing a stale socket; throws DaemonRunningError when a live one is there. The
 * caller holds the daemon lock (claimSocket), so no other quired replaces the socket meanwhile.
 */
export async function listenExclusive(path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  if (process.platform !== "win32" && Buffer.byteLength(path) > SOCKET_PATH_LIMIT)
    throw new SocketPathTooLongError(path, SOCKET_PATH_LIMIT);
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

/**
 * Serves the listening socket handed in as `fd` (systemd socket activation) once it is shown to be a
 * listening Unix stream socket bound to `path`, with a socket at `path`; throws SocketActivationError
 * naming what is wrong otherwise. The directory is checked by the caller, as for listenExclusive.
 */
export async function adoptListener(fd: number, path: string, onConnection: (socket: Socket) => void): Promise<Server> {
  checkInheritedSocket(fd, path);
  const server = createServer({ pauseOnConnect: false }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ fd }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  chmodSync(path, 0o600);
  return server;
}

function checkInheritedSocket(fd: number, path: string): void {
  // /proc/net/unix is how Linux tells a socket's kind and address; systemd exists only there anyway.
  if (process.platform !== "linux")
    throw new SocketActivationError(`socket activation is systemd's, on Linux only; run quired without LISTEN_FDS`);
  let st: Stats;
  try {
    st = fstatSync(fd);
  } catch {
    throw new SocketActivationError(`LISTEN_FDS says fd ${fd} is a socket, but fd ${fd} is not open`);
  }
  if (!st.isSocket()) throw new SocketActivationError(`fd ${fd} is ${fileKind(st)}, not a socket`);
  const entry = unixSockets().get(st.ino);
  if (!entry)
    throw new SocketActivationError(
      `fd ${fd} is not a Unix socket (a network socket?); quired.socket's ListenStream= must be the path ${path}`,
    );
  if (entry.type !== SOCK_STREAM)
    throw new SocketActivationError(
      `fd ${fd} is a Unix socket of type ${entry.type}, not a stream socket; use ListenStream=, not ListenDatagram= or ListenSequentialPacket=`,
    );
  if (!entry.listening) throw new SocketActivationError(`fd ${fd} is a Unix stream socket that is not listening`);
  if (entry.path !== path) {
    throw new SocketActivationError(
      `fd ${fd} is bound to ${entry.path || "no path"}, but quired's socket is ${path}: make quired.socket's ListenStream= that path (quirectl daemon install does), or start quired with the same --home and environment as quirectl`,
    );
  }
  let onDisk: Stats;
  try {
    onDisk = lstatSync(path);
  } catch {
    throw new SocketActivationError(
      `fd ${fd} is bound to ${path}, but nothing is at that path any more, so no client can reach it: restart quired.socket`,
    );
  }
  if (!onDisk.isSocket()) throw new SocketPathOccupiedError(path, fileKind(onDisk));
}

/** SOCK_STREAM in /proc/net/unix's Type column. */
const SOCK_STREAM = 1;
/** __SO_ACCEPTCON in its Flags column: the socket is listening. */
const SO_ACCEPTCON = 0x10000;

/** The Unix sockets of this network namespace by inode, from /proc/net/unix. */
function unixSockets(): Map<number, { type: number; listening: boolean; path: string }> {
  const sockets = new Map<number, { type: number; listening: boolean; path: string }>();
  // Num RefCount Protocol Flags Type St Inode [Path]; the path is the rest of the line.
  for (const line of readFileSync("/proc/net/unix", "utf8").split("\n").slice(1)) {
    const m = /^\s*[0-9a-f]+: [0-9a-f]+ [0-9a-f]+ ([0-9a-f]+) ([0-9a-f]+) [0-9a-f]+ +(\d+)(?: (.*))?$/i.exec(line);
    if (m)
      sockets.set(Number(m[3]), { type: parseInt(m[2]!, 16), listening: (parseInt(m[1]!, 16) & SO_ACCEPTCON) !== 0, path: m[4] ?? "" });
  }
  return sockets;
}

/** Throws SocketPathOccupiedError when something other than a socket is at `path`. */
function refuseNonSocket(path: string): void {
  if (process.platform === "win32") return;
  const st = lstatOrUndefined(path);
  if (st && !st.isSocket()) throw new SocketPathOccupiedError(path, fileKind(st));
}

function socketAt(path: string): boolean {
  return lstatOrUndefined(path)?.isSocket() ?? false;
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function fileKind(st: Stats): string {
  if (st.isFile()) return "a regular file";
  if (st.isDirectory()) return "a directory";
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isFIFO()) return "a named pipe";
  return "a device or other special file";
}
