// A handed-off socket whose reads go straight into its frame decoder (`net`'s `onread`): no buffer
// allocated per read, large bodies read into their own buffers and never copied. Node hands the backend
// the socket already made (by the IPC channel's handle transfer), and `onread` can only be chosen when a
// Socket is made, so the handle moves to a new Socket of ours.
import { Socket } from "node:net";
import type { FrameDecoder } from "../wire/framing.js";

interface HandleHolder {
  _handle: { readStop(): number; reading: boolean } | null;
}

/**
 * The connection `socket` carries, now read into `decoder`; `onRead` runs after each read. Call it in
 * the tick the socket arrived, before anything read from it: undefined when that is no longer so (then
 * keep using `socket`). Afterwards `socket` must not be used.
 */
export function readIntoDecoder(socket: Socket, decoder: FrameDecoder, onRead: () => void): Socket | undefined {
  const holder = socket as unknown as HandleHolder;
  const handle = holder._handle;
  if (!handle || socket.destroyed || socket.readableLength > 0 || socket.bytesRead > 0) return undefined;
  // Node started reading when it made the socket; nothing has been read yet (same tick), so nothing is lost.
  handle.readStop();
  handle.reading = false; // so that the new Socket starts reading
  holder._handle = null;
  const reading = new Socket({
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
  // Node's IPC bookkeeping counts the broker's connection open until the object it made says 'close'.
  reading.once("close", () => socket.emit("close", false));
  return reading;
}
