// A handed-off connection takes requests before the backend's ready event. When the handoff fails, they
// are sent again on the reconnect link only where they cannot have run anywhere: the far end closed the
// old connection, or the reconnect consumed the token (so no backend can adopt the old one). Scripted
// broker and backend on real sockets count every Hello and every request that reaches them.
import assert from "node:assert/strict";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { connect } from "../../src/client/connect.js";
import { ConnectionClosedError } from "../../src/client/errors.js";
import { resolvePlaces } from "../../src/core/places.js";
import { Frame_Kind, type Frame } from "../../src/gen/quire/v1/frame.js";
import { HandoffAck } from "../../src/gen/quire/v1/handoff.js";
import { Hello, HelloReply, Refused_Code } from "../../src/gen/quire/v1/hello.js";
import { WireError } from "../../src/wire/errors.js";
import { encodeFramed, FrameDecoder, newFrame } from "../../src/wire/framing.js";
import { Lane } from "../../src/wire/lanes.js";
import { CAP_HANDLE_PASSING } from "../../src/wire/protocol.js";

const dirs: string[] = [];
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const HANDOFF_TOKEN = Buffer.from("token-for-the-handoff");
const READY_TIMEOUT_MS = 50;
const FRESH_TOKEN = Buffer.from("token-for-a-fresh-start");

/** Calls `onFrame` for each frame the client sends on a connection. */
function frames(socket: Socket, onFrame: (frame: Frame) => void): void {
  const decoder = new FrameDecoder();
  socket.on("error", () => {});
  socket.on("data", (chunk: Buffer) => {
    decoder.push(chunk);
    for (let f = decoder.next(); f && !(f instanceof WireError); f = decoder.next()) onFrame(f);
  });
}

function reply(socket: Socket, requestId: bigint, answer: HelloReply): void {
  socket.write(
    encodeFramed(
      newFrame({
        kind: Frame_Kind.RESPONSE,
        payloadProtocol: Lane.CONTROL,
        requestId,
        payload: Buffer.from(HelloReply.encode(answer).finish()),
      }),
    ),
  );
}

function echo(socket: Socket, frame: Frame): void {
  socket.write(
    encodeFramed(newFrame({ kind: Frame_Kind.RESPONSE, payloadProtocol: Lane.ECHO, requestId: frame.requestId, payload: frame.payload })),
  );
}

function negotiated(fields: { handoff: boolean; token: Buffer; backendPipe: string }): HelloReply {
  return HelloReply.fromPartial({
    negotiated: {
      negotiatedProtocol: 1,
      daemonVersion: "0.1.0",
      backendPipe: fields.backendPipe,
      serverCapabilities: fields.handoff ? CAP_HANDLE_PASSING : 0n,
      handlePassedToken: fields.token,
    },
  });
}

/** "late-ready" / "late-close": silent for LATE_MS after Negotiated, then the ready event / a close. */
type BrokerScript = "close" | "silent" | "ready" | "late-ready" | "late-close";

/** Past the 100 ms ready timeout the tests with a late broker give the client. */
const LATE_MS = 300;

function writeReady(socket: Socket): void {
  const ack = HandoffAck.encode({ token: HANDOFF_TOKEN, accepted: true, errorDetail: "", correlationId: 1n }).finish();
  socket.write(encodeFramed(newFrame({ kind: Frame_Kind.EVENT, payloadProtocol: Lane.HANDOFF, payload: Buffer.from(ack) })));
}

/**
 * A broker and a backend under one QUIRE_HOME. The broker answers the first Hello with a handoff and then
 * does what `broker` says; later Hellos (which must not ask for a handoff) get a reconnect with FRESH_TOKEN.
 * The backend accepts the tokens in `accepts`, each once.
 */
async function scripted(broker: BrokerScript, accepts: Buffer[]) {
  const home = mkdtempSync(join(tmpdir(), "quire-fallback-"));
  dirs.push(home);
  const places = resolvePlaces({ home });
  const backendPipe = join(home, "backend-echo.sock");
  const seen = {
    hellos: [] as Hello[],
    requestsAtBroker: 0,
    backendRequests: [] as string[],
    backendCancels: [] as bigint[],
    backendHellos: 0,
  };
  const unused = [...accepts];

  const brokerServer = createServer((socket) => {
    let handedOff = false;
    let ready = false;
    const early: Frame[] = [];
    frames(socket, (frame) => {
      if (handedOff) {
        seen.requestsAtBroker++;
        if (ready) echo(socket, frame);
        else early.push(frame);
        return;
      }
      const hello = Hello.decode(frame.payload);
      seen.hellos.push(hello);
      if (seen.hellos.length > 1) {
        assert.equal(hello.clientCapabilities & CAP_HANDLE_PASSING, 0n, "a fresh start after a lost handoff must not ask for another");
        reply(socket, frame.requestId, negotiated({ handoff: false, token: FRESH_TOKEN, backendPipe }));
        return void socket.end();
      }
      handedOff = true;
      reply(socket, frame.requestId, negotiated({ handoff: true, token: HANDOFF_TOKEN, backendPipe }));
      const becomeReady = () => {
        writeReady(socket);
        ready = true;
        for (const f of early.splice(0)) echo(socket, f);
      };
      if (broker === "close") socket.destroy();
      if (broker === "ready") becomeReady();
      if (broker === "late-ready") setTimeout(becomeReady, LATE_MS);
      if (broker === "late-close") setTimeout(() => socket.destroy(), LATE_MS);
    });
  });
  const backendServer = createServer((socket) => {
    seen.backendHellos++;
    let served = false;
    frames(socket, (frame) => {
      if (served) {
        if (frame.kind === Frame_Kind.CANCEL) return void seen.backendCancels.push(frame.requestId);
        seen.backendRequests.push(frame.payload.toString());
        return echo(socket, frame);
      }
      const token = Buffer.from(Hello.decode(frame.payload).authToken);
      const at = unused.findIndex((t) => t.equals(token));
      if (at < 0) {
        reply(
          socket,
          frame.requestId,
          HelloReply.fromPartial({ refused: { code: Refused_Code.PEER_REJECTED, reason: "unknown, used or expired token" } }),
        );
        return void socket.end();
      }
      unused.splice(at, 1);
      served = true;
      reply(socket, frame.requestId, negotiated({ handoff: false, token: Buffer.alloc(0), backendPipe }));
    });
  });
  for (const [server, path] of [
    [brokerServer, places.socket],
    [backendServer, backendPipe],
  ] as const) {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(path, resolve));
  }
  return { home, seen };
}

test("the far end closes before the ready event: the request goes again on the reconnect, once", async () => {
  const { home, seen } = await scripted("close", [HANDOFF_TOKEN]);
  const c = await connect("echo", { home, autostart: false });
  assert.equal(c.path, "handoff");
  assert.equal((await c.request(Lane.ECHO, Buffer.from("first"))).toString(), "first");
  assert.equal(await c.whenSettled(), "reconnect");
  assert.deepEqual(seen.backendRequests, ["first"]);
  assert.equal(seen.hellos.length, 1);
  c.close();
});

test("the far end closes and the backend no longer knows the token: a fresh start without handoff, the request sent once", async () => {
  const { home, seen } = await scripted("close", [FRESH_TOKEN]);
  const c = await connect("echo", { home, autostart: false });
  const answers = await Promise.all(["a", "b", "c"].map((p) => c.request(Lane.ECHO, Buffer.from(p))));
  assert.deepEqual(answers.map(String), ["a", "b", "c"]);
  assert.deepEqual(seen.backendRequests, ["a", "b", "c"], "in order, each once");
  assert.equal(seen.hellos.length, 2);
  assert.equal(c.path, "reconnect");
  c.close();
});

test("no ready event in time, and the reconnect consumes the token: the request goes again there, once", async () => {
  const { home, seen } = await scripted("silent", [HANDOFF_TOKEN]);
  const c = await connect("echo", { home, autostart: false, readyTimeoutMs: 200 });
  assert.equal((await c.request(Lane.ECHO, Buffer.from("late"))).toString(), "late");
  assert.deepEqual(seen.backendRequests, ["late"]);
  assert.equal(c.path, "reconnect");
  c.close();
});

test("no ready event in time, and the token is already used: the request fails as possibly run, and is not sent twice", async () => {
  // The broker's side still holds the connection: a slow backend may yet adopt it and run what is queued.
  // The client waits for that (or for the connection's close) for its timeout, then gives up.
  const { home, seen } = await scripted("silent", []);
  const c = await connect("echo", { home, autostart: false, readyTimeoutMs: 200, timeoutMs: 1_000 });
  const closed = new Promise<Error>((resolve) => c.once("close", resolve));
  const error = await c.request(Lane.ECHO, Buffer.from("maybe")).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(error instanceof ConnectionClosedError, String(error));
  assert.match(error.message, /may or may not have run/);
  assert.ok((await closed) instanceof ConnectionClosedError);
  assert.deepEqual(seen.backendRequests, []);
  assert.equal(seen.hellos.length, 1, "no fresh start with the broker");
});

test("no ready event in time, the reconnect refused, then the ready event comes late: the request is answered on the handed-off connection, once", async () => {
  // The backend adopted the connection late (that used the token, so the reconnect is refused).
  const { home, seen } = await scripted("late-ready", []);
  const c = await connect("echo", { home, autostart: false, readyTimeoutMs: 100 });
  assert.equal((await c.request(Lane.ECHO, Buffer.from("late but once"))).toString(), "late but once");
  assert.equal(await c.whenSettled(), "handoff");
  assert.equal(seen.requestsAtBroker, 1);
  assert.equal(seen.backendHellos, 1, "the reconnect was tried");
  assert.deepEqual(seen.backendRequests, []);
  assert.equal((await c.request(Lane.ECHO, Buffer.from("and after"))).toString(), "and after");
  c.close();
});

test("no ready event in time, the reconnect refused, then the far end closes the handed-off connection: a fresh start, the request sent once", async () => {
  // A stopped backend killed by the broker's liveness check: its respawn knows no old token, and the
  // connection handed to it closes unread.
  const { home, seen } = await scripted("late-close", [FRESH_TOKEN]);
  const c = await connect("echo", { home, autostart: false, readyTimeoutMs: 100 });
  assert.equal((await c.request(Lane.ECHO, Buffer.from("once"))).toString(), "once");
  assert.deepEqual(seen.backendRequests, ["once"]);
  assert.equal(seen.hellos.length, 2, "a fresh start with the broker");
  assert.equal(c.path, "reconnect");
  c.close();
});

test("the ready event settles the handoff: requests sent before it are answered on the same connection", async () => {
  const { home, seen } = await scripted("ready", []);
  const c = await connect("echo", { home, autostart: false });
  const early = c.request(Lane.ECHO, Buffer.from("early"));
  assert.equal(await c.whenSettled(), "handoff");
  assert.equal((await early).toString(), "early");
  assert.equal(seen.requestsAtBroker, 1);
  assert.equal(seen.backendHellos, 0);
  c.close();
});

test("closed before the ready event: no fallback runs afterwards", async () => {
  const { home, seen } = await scripted("silent", [HANDOFF_TOKEN]);
  const steps: string[] = [];
  const onStep = (message: unknown) => void steps.push((message as { step: string }).step);
  subscribe("quire:client:handshake", onStep);
  try {
    const c = await connect("echo", { home, autostart: false, readyTimeoutMs: READY_TIMEOUT_MS });
    const closed = new Promise<void>((resolve) => c.once("close", () => resolve()));
    c.close();
    await closed;
    assert.equal(await c.whenSettled(), "handoff");
    // Timers of one duration fire in the order they were set: once this one has, so has the connection's
    // ready timer (set in connect()), and a fallback it started would have said "handoff-failed" at once.
    await new Promise((resolve) => setTimeout(resolve, READY_TIMEOUT_MS));
  } finally {
    unsubscribe("quire:client:handshake", onStep);
  }
  assert.deepEqual(
    steps.filter((step) => step === "handoff-failed"),
    [],
    "a fallback ran after the close",
  );
  assert.equal(seen.backendHellos, 0);
});

test("a request given up before the handoff settles is cancelled on the new link as well, and the connection goes on", async () => {
  const { home, seen } = await scripted("close", [HANDOFF_TOKEN]);
  const c = await connect("echo", { home, autostart: false });
  const abort = new AbortController();
  const givenUp = c.request(Lane.ECHO, Buffer.from("given up"), { signal: abort.signal });
  abort.abort(new Error("given up"));
  await assert.rejects(givenUp, /given up/);
  assert.equal((await c.request(Lane.ECHO, Buffer.from("kept"))).toString(), "kept");
  assert.deepEqual(seen.backendRequests, ["given up", "kept"], "sent again in order");
  assert.deepEqual(seen.backendCancels, [1n], "and the CANCEL after it");
  c.close();
});
