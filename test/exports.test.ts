// The package's entry points (the package.json "exports" map), imported by name as a user would.
import assert from "node:assert/strict";
import { test } from "node:test";

test("quire, quire/runtime, quire/client and quire/wire export what they promise", async () => {
  const root = await import("quire");
  const runtime = await import("quire/runtime");
  const client = await import("quire/client");
  const wire = await import("quire/wire");
  for (const name of ["spawn", "run", "connect"]) assert.equal(typeof (root as Record<string, unknown>)[name], "function", `quire.${name}`);
  for (const name of ["spawn", "run"]) assert.equal(typeof (runtime as Record<string, unknown>)[name], "function", `quire/runtime.${name}`);
  for (const name of ["connect", "adminCall", "PtyClient"])
    assert.equal(typeof (client as Record<string, unknown>)[name], "function", `quire/client.${name}`);
  for (const name of ["Frame", "Hello", "HelloReply", "Negotiated", "Refused", "HandoffOffer", "HandoffAck"]) {
    const message = (wire as unknown as Record<string, { encode?: unknown; decode?: unknown; fromPartial?: unknown }>)[name];
    assert.equal(typeof message?.encode, "function", `quire/wire.${name}.encode`);
    assert.equal(typeof message?.decode, "function", `quire/wire.${name}.decode`);
    assert.equal(typeof message?.fromPartial, "function", `quire/wire.${name}.fromPartial`);
  }
  assert.equal(typeof wire.encodeFramed, "function");
  assert.equal(typeof wire.FrameDecoder, "function");
  assert.equal(typeof wire.Hello.fromPartial({}).connectionId, "bigint", "64-bit fields are bigint");
  const result = await runtime.run("echo", ["from the package"], { pty: false });
  assert.deepEqual(
    { exitCode: result.exitCode, signal: result.signal, output: result.output, timedOut: result.timedOut },
    {
      exitCode: 0,
      signal: null,
      output: "from the package\n",
      timedOut: false,
    },
  );
});

test("every entry point exports QuireError, the one base class of quire's errors", async () => {
  const entries = await Promise.all([import("quire"), import("quire/runtime"), import("quire/client"), import("quire/wire")]);
  const base = entries[0].QuireError;
  assert.equal(typeof base, "function");
  for (const entry of entries) assert.equal(entry.QuireError, base);
  const client = entries[2];
  const runtime = entries[1];
  const wire = entries[3];
  assert.ok(new client.TimeoutError("x", 1) instanceof base);
  assert.ok(new runtime.ProcessEndedError("x") instanceof base);
  assert.ok(new wire.UnknownLaneError(1) instanceof base);
});

test("the README's import works: connect, Lane and PtyClient from quire/client", async () => {
  const { connect, Lane, PtyClient, PtyErrorCode } = await import("quire/client");
  assert.equal(typeof connect, "function");
  assert.equal(typeof PtyClient, "function");
  assert.equal(Lane.PTY, 0xf700);
  assert.equal(PtyErrorCode.NO_SESSION, "QUIRE_ERR_PTY_NO_SESSION");
});
