// The only module of the client that knows about sockets: Unix sockets, or named pipes on Windows.
import { connect, type Socket } from "node:net";
import { DaemonUnreachableError, TimeoutError } from "./errors.js";

/** Connects to the socket at `path`; every failure is a DaemonUnreachableError carrying the cause. */
export function dial(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DaemonUnreachableError(path, new TimeoutError(`connecting to ${path}`, timeoutMs)));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(new DaemonUnreachableError(path, error));
    });
  });
}
