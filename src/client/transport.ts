// The only module of the client that knows about sockets: Unix sockets, or named pipes on Windows.
import { connect, type Socket } from "node:net";
import { TimeoutError } from "./errors.js";

export function dial(path: string, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TimeoutError(`connecting to ${path}`, timeoutMs));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeAllListeners("error");
      resolve(socket);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

/**
 * Errors that mean no daemon is listening there: no socket file, a stale one, or a listener that closed
 * while the connection waited to be accepted (a daemon shutting down).
 */
export function isNobodyListening(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ECONNREFUSED" || code === "ECONNRESET";
}
