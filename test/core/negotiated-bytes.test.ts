// The hand encoder of HelloReply { negotiated } writes exactly the generated encoder's bytes, for every
// field at zero, small, large and out of its range, and with warnings (which it leaves to the generated one).
import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeNegotiatedReply } from "../../src/core/negotiated-bytes.js";
import { HelloReply, Negotiated } from "../../src/gen/quire/v1/hello.js";

const same = (fields: Partial<Negotiated>) => {
  const n = Negotiated.fromPartial(fields);
  assert.deepEqual(
    Buffer.from(encodeNegotiatedReply(n)),
    Buffer.from(HelloReply.encode({ negotiated: n }).finish()),
    JSON.stringify(fields, (_, v) => (typeof v === "bigint" ? String(v) : v)),
  );
};

test("the same bytes as the generated encoder", () => {
  same({});
  same({
    negotiatedProtocol: 1,
    daemonVersion: "0.1.0",
    backendPipe: "/run/quire/backend-echo.sock",
    serverCapabilities: 1n,
    handlePassedToken: Buffer.alloc(50, 7),
    connectionId: 42n,
  });
  same({ daemonVersion: "ünïcödé-1.0.0", backendPipe: "x".repeat(300), handlePassedToken: Buffer.alloc(200, 1) });
  for (const big of [127n, 128n, 16_383n, 16_384n, 2n ** 32n, 2n ** 63n, 2n ** 64n - 1n]) {
    same({ serverCapabilities: big, connectionId: big });
  }
  same({ negotiatedProtocol: 0xffffffff, keepaliveIntervalSecs: 30 });
  same({ warnings: ["a warning", "another"], negotiatedProtocol: 1, handlePassedToken: Buffer.of(1) });
  for (let i = 0; i < 200; i++) {
    same({
      negotiatedProtocol: i % 3,
      daemonVersion: i % 2 ? "" : `1.${i}.0`,
      backendPipe: `/tmp/quire-${i}/backend-echo.sock`,
      serverCapabilities: BigInt(i % 2),
      keepaliveIntervalSecs: i % 5,
      handlePassedToken: Buffer.alloc(i % 120, i),
      connectionId: BigInt(i) * 1_000_003n,
    });
  }
});

test("values out of range are refused as the generated encoder refuses them", () => {
  const n = Negotiated.fromPartial({ connectionId: 2n ** 64n });
  assert.throws(() => encodeNegotiatedReply(n));
  assert.throws(() => HelloReply.encode({ negotiated: n }).finish());
});
