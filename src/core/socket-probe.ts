// Is something accepting connections on a socket? The broker asks before replacing a stale socket; the
// CLI and autostart ask whether a daemon is up.
import { connect, type Socket } from "node:net";

/** Is something accepting connections on this socket? */
export function probeSocket(path: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = connect(path);
    const done = (live: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(live);
    };
    // A listener too busy to accept within the timeout is still alive: never unlink it.
    const timer = setTimeout(() => done(true), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", (error: NodeJS.ErrnoException) => done(error.code !== "ECONNREFUSED" && error.code !== "ENOENT"));
  });
}
