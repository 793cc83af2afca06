// echo: answers every REQUEST on a service lane with a RESPONSE carrying the same lane, request_id and
// payload. It measures the machinery alone.
import { Frame_Kind } from "../../gen/quire/v1/frame.js";
import type { ServiceHandler } from "../served-connection.js";

export function createEchoService(): ServiceHandler {
  return {
    // The payload goes straight back: its buffer is given back once the write that carries it is done.
    releasesPayloads: true,
    onFrame(frame, client) {
      if (frame.kind === Frame_Kind.REQUEST) client.send({ ...frame, kind: Frame_Kind.RESPONSE }, () => client.release(frame));
      else client.release(frame);
    },
  };
}
