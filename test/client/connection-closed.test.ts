// A peer that closes a connection says why first, with an unsolicited Refused on the control lane: the
// client's ConnectionClosedError keeps that Refused's code (refusedCode), and has none otherwise.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { ConnectionClosedError } from "../../src/client/errors.js";
import { FramedSocket } from "../../src/client/framed.js";
import { dial } from "../../src/client/transport.js";
import { Frame_Kind } from "../../src/gen/quire/v1/frame.js";
import { Refused, Refused_Code } from "../../src/gen/quire/v1/hello.js";
import { encodeFramed, newFrame } from "../../src/wire/framing.js";
import { Lane } from "../../src/wire/lanes.js";

const dir = mkdtempSync(join(tmpdir(), "quire-closed-"));
after(() => rmSync(dir, { recursive: true, force: true }));

async function serverThat(onConnection: (socket: Socket) => void, name: string): Promise<{ server: Server; path: string }> {
  const path = join(dir, name);
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { server, path };
}

test("closed by an unsolicited Refused: ConnectionClosedError carries its code", async () => {
  const refused = Refused.encode(
    Refused.fromPartial({ code: Refused_Code.SHUTTING_DOWN, reason: "the pty backend is shutting down" }),
  ).finish();
  const { server, path } = await serverThat((socket) => {
    socket.end(encodeFramed(newFrame({ kind: Frame_Kind.EVENT, payloadProtocol: Lane.CONTROL, payload: Buffer.from(refused) })));
  }, "refused.sock");
  try {
    const framed = new FramedSocket(await dial(path, 2_000));
    const error = await framed.read(2_000, "waiting").then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConnectionClosedError);
    assert.equal(error.code, "QUIRE_ERR_CONNECTION_CLOSED");
    assert.equal(error.refusedCode, Refused_Code.SHUTTING_DOWN);
    assert.match(error.message, /shutting down/);
  } finally {
    server.close();
  }
});

test("closed without a word: refusedCode is undefined", async () => {
  const { server, path } = await serverThat((socket) => socket.end(), "silent.sock");
  try {
    const framed = new FramedSocket(await dial(path, 2_000));
    const error = await framed.read(2_000, "waiting").then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof ConnectionClosedError);
    assert.equal(error.refusedCode, undefined);
  } finally {
    server.close();
  }
});
