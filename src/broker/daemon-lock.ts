// One quired per socket: the lock every quired takes before it touches the socket path (listening itself
// or serving a socket systemd hands it), held until it has drained. Without it two quired started at the
// same instant on a stale socket could both find it dead, both unlink it and both listen, the loser on an
// inode nobody can reach, with backends of its own on the same store.
//
// Why this lock: it must be released by the kernel when its holder dies, SIGKILL included, or taking over
// from a dead holder is again a check-then-replace race. A lock *file* (open 'wx', holding a pid and start
// time) is not: a crashed holder leaves it, and two quired breaking the same stale file can each delete
// the other's fresh one. A listening socket bound to a lock *path* is not either: the kernel stops the
// listener but leaves the path, so replacing a dead one is this very race. What the kernel does release,
// without a native module (Node has no flock):
// - on Linux, a Unix socket in the abstract namespace: binding a name is atomic, and the name exists only
//   while a descriptor for it is open, so nothing is ever stale. It is named after the socket directory's
//   device and inode, so every quired that would use the same socket path agrees on it. The holder
//   answers a connection with its pid, which is how a loser names it. Abstract names are per network
//   namespace and open to every user in it: another user could take ours first, which stops quired from
//   starting (a denial of service, no more: the socket directory is still 0700 and ours);
// - on macOS (and the BSDs), open(2)'s O_EXLOCK: a flock taken by the open itself, on a file next to the
//   socket, which the holder writes its pid into;
// - on Windows nothing is needed: the first server of a named pipe keeps the name (EADDRINUSE for any
//   other) until its last handle closes (native-notes/named-pipes.md).
import { closeSync, constants, ftruncateSync, lstatSync, openSync, readFileSync, writeSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { basename, dirname } from "node:path";
import { DaemonRunningError } from "./errors.js";

export interface DaemonLock {
  release(): void;
}

/** open(2)'s O_EXLOCK on macOS and the BSDs (sys/fcntl.h); Node does not export it. */
const O_EXLOCK = 0x20;

/**
 * Takes the lock for the socket at `socketPath` (whose directory exists and has been checked); throws
 * DaemonRunningError naming the holder when another quired has it.
 */
export async function takeDaemonLock(socketPath: string): Promise<DaemonLock> {
  if (process.platform === "win32") return { release() {} };
  if (process.platform === "linux") return takeAbstractLock(lockName(socketPath), socketPath);
  return takeFileLock(`${socketPath}.lock`, socketPath);
}

/** The pid of the quired holding the lock for `socketPath`, if one says so (within a second). */
export async function daemonLockHolder(socketPath: string): Promise<number | undefined> {
  if (process.platform === "win32") return undefined;
  if (process.platform === "linux") return askHolder(lockName(socketPath));
  return readHolder(`${socketPath}.lock`);
}

function lockName(socketPath: string): string {
  const dir = lstatSync(dirname(socketPath));
  return `\0quire-lock/${dir.dev}/${dir.ino}/${basename(socketPath)}`;
}

async function takeAbstractLock(name: string, socketPath: string): Promise<DaemonLock> {
  const server: Server = createServer((socket) => {
    socket.on("error", () => socket.destroy());
    socket.end(holderText());
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(name, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
    throw new DaemonRunningError(socketPath, await askHolder(name));
  }
  // The lock must never be what keeps quired's event loop alive.
  server.unref();
  return { release: once(() => server.close()) };
}

function askHolder(name: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = "";
    const socket = connect(name);
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseHolder(text));
    };
    const timer = setTimeout(done, 1_000);
    socket.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
    socket.once("end", done);
    socket.once("error", done);
  });
}

function takeFileLock(path: string, socketPath: string): DaemonLock {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_CREAT | constants.O_NONBLOCK | O_EXLOCK, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EAGAIN" && code !== "EWOULDBLOCK") throw error;
    throw new DaemonRunningError(socketPath, readHolder(path));
  }
  ftruncateSync(fd);
  writeSync(fd, holderText(), 0);
  return { release: once(() => closeSync(fd)) };
}

function readHolder(path: string): number | undefined {
  try {
    return parseHolder(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
}

/** What the holder says of itself. */
function holderText(): string {
  return `${JSON.stringify({ pid: process.pid })}\n`;
}

function parseHolder(text: string): number | undefined {
  try {
    const { pid } = JSON.parse(text) as { pid?: unknown };
    return Number.isInteger(pid) && (pid as number) > 0 ? (pid as number) : undefined;
  } catch {
    return undefined;
  }
}

function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}
