// The only module of the client that knows about sockets: Unix sockets, or named pipes on Windows.
import { connect, type Socket } from "node:net";
import { DaemonUnreachableError, TimeoutError } from "./errors.js";

/** Reads that go where the reader says (`net`'s `onread`) instead of into 'data' events. */
export interface SocketReader {
  /** Where the next read goes. */
  buffer(): Uint8Array;
  /** The read put `n` bytes into the last buffer(). */
  read(n: number): void;
}

/**
 * Connects to the socket at `path`; every failure is a DaemonUnreachableError carrying the cause. With a
 * `reader`, received bytes go to it and the socket emits no 'data'.
 */
export function dial(path: string, timeoutMs: number, reader?: SocketReader): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const onread = reader && { buffer: () => reader.buffer(), callback: (n: number) => (reader.read(n), true) };
    const socket = connect({ path, onread });
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
