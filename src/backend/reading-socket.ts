// A handed-off connection as a Socket whose reads go straight into its frame decoder (`net`'s `onread`):
// no buffer allocated per read, large bodies read into their own buffers and never copied. The broker
// passes the bare handle (not a Socket), so Node makes no Socket of its own here and keeps no list of
// passed sockets, and the one Socket made can choose `onread`, which is only chosen when a Socket is made.
import { Socket } from "node:net";
import type { FrameDecoder } from "../wire/framing.js";

/** The connection handle `handle` carries (a `net.Native` handle from the IPC channel), read into `decoder`; `onRead` runs after each read. */
export function socketReadingInto(handle: object, decoder: FrameDecoder, onRead: () => void): Socket {
  return new Socket({
    handle,
    readable: true,
    writable: true,
    onread: {
      buffer: () => decoder.readBuffer(),
      callback: (n: number) => {
        decoder.wrote(n);
        onRead();
        return true;
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
}

/** Closes a passed handle nobody has wrapped in a Socket. */
export function closeHandle(handle: object | undefined): void {
  (handle as { close?(): void } | undefined)?.close?.();
}
