// The generated code and protobufjs's reflection over proto/ must agree byte for byte, both ways.
import assert from "node:assert/strict";
import { test } from "node:test";
import { AdminResponse, Frame, HandoffOffer, Hello, HelloReply, Refused_Code } from "../../src/wire/index.js";
import { reflectedType, toPlain } from "../helpers/protobufjs.js";

const hello = Hello.fromPartial({
  clientMinProtocol: 1,
  clientMaxProtocol: 1,
  serviceName: "echo",
  clientCapabilities: 0xffffffffffffffffn,
  connectionId: 0x7fffffffffffffffn,
  authToken: Buffer.from("token"),
  peerPid: 123,
});

const messages = [
  { name: "Hello", type: Hello, value: hello },
  {
    name: "Frame",
    type: Frame,
    value: Frame.fromPartial({
      envelopeVersion: 1,
      kind: 2,
      payloadProtocol: 0xd0ff,
      requestId: 2n ** 64n - 1n,
      payload: Buffer.from("x"),
    }),
  },
  {
    name: "HelloReply",
    type: HelloReply,
    value: HelloReply.fromPartial({
      refused: { reason: "busy", code: Refused_Code.RATE_LIMITED, retryAfterMs: 250n, details: { a: "b" } },
    }),
  },
  {
    name: "HandoffOffer",
    type: HandoffOffer,
    value: HandoffOffer.fromPartial({ token: Buffer.alloc(16, 7), serviceName: "ci", correlationId: 9n }),
  },
  {
    name: "AdminResponse",
    type: AdminResponse,
    value: AdminResponse.fromPartial({ ok: true, status: { pid: 5, uptimeMs: 10n, backends: [{ service: "echo", restarts: 2 }] } }),
  },
] as const;

type Codec = { encode(v: unknown): { finish(): Uint8Array }; decode(b: Uint8Array): unknown };

for (const { name, type, value } of messages) {
  test(`${name}: generated encode, protobufjs decode, same bytes back`, () => {
    const reflected = reflectedType(name);
    const bytes = (type as Codec).encode(value).finish();
    const decoded = reflected.decode(bytes);
    assert.deepEqual(Buffer.from(reflected.encode(decoded).finish()), Buffer.from(bytes));
  });

  test(`${name}: protobufjs encode, generated decode, same value`, () => {
    const reflected = reflectedType(name);
    const bytes = (type as Codec).encode(value).finish();
    const viaReflection = reflected.encode(reflected.decode(bytes)).finish();
    assert.deepEqual((type as Codec).decode(viaReflection), value);
  });
}

test("protobufjs sees the same 64-bit values the generated code wrote", () => {
  const plain = toPlain(reflectedType("Hello"), reflectedType("Hello").decode(Hello.encode(hello).finish()));
  assert.equal(plain.clientCapabilities, 0xffffffffffffffffn);
  assert.equal(plain.connectionId, 0x7fffffffffffffffn);
});
