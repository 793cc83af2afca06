// The one Hello checker both the broker and a backend's reconnect path use.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkHello, negotiatedFor } from "../../src/core/hello-checks.js";
import { Hello, Refused_Code } from "../../src/gen/quire/v1/hello.js";
import { PROTOCOL_MAX, PROTOCOL_MIN } from "../../src/wire/protocol.js";

const good = (fields: Partial<Hello> = {}) =>
  Hello.fromPartial({ clientMinProtocol: PROTOCOL_MIN, clientMaxProtocol: PROTOCOL_MAX, serviceName: "pty", ...fields });
const broker = { services: ["echo", "pty"], daemonVersion: "1.2.3" };
const backend = { services: ["pty"], daemonVersion: "1.2.3", unlistedServiceCode: Refused_Code.PEER_REJECTED };

test("an acceptable Hello passes, on either side", () => {
  assert.equal(checkHello(good(), broker), undefined);
  assert.equal(checkHello(good({ wantedVersion: "1.2.0" }), backend), undefined);
});

test("protocol range, service name and wanted_version are refused the same way on both sides", () => {
  for (const rules of [broker, backend]) {
    assert.equal(
      checkHello(good({ clientMinProtocol: PROTOCOL_MAX + 1, clientMaxProtocol: PROTOCOL_MAX + 2 }), rules)?.code,
      Refused_Code.VERSION_UNSUPPORTED,
    );
    assert.equal(checkHello(good({ clientMinProtocol: 2, clientMaxProtocol: 1 }), rules)?.code, Refused_Code.VERSION_UNSUPPORTED);
    assert.equal(checkHello(good({ serviceName: "Bad_Name" }), rules)?.code, Refused_Code.SERVICE_UNKNOWN);
    assert.equal(checkHello(good({ wantedVersion: "nope" }), rules)?.code, Refused_Code.VERSION_UNSUPPORTED);
    assert.equal(checkHello(good({ wantedVersion: "2.0.0" }), rules)?.code, Refused_Code.VERSION_UNSUPPORTED);
  }
});

test("a service not served: SERVICE_UNKNOWN at the broker, PEER_REJECTED at another service's backend", () => {
  assert.equal(checkHello(good({ serviceName: "ci" }), broker)?.code, Refused_Code.SERVICE_UNKNOWN);
  assert.equal(checkHello(good({ serviceName: "echo" }), backend)?.code, Refused_Code.PEER_REJECTED);
});

test("Negotiated picks the highest protocol both speak", () => {
  const n = negotiatedFor(good(), "1.2.3", {
    backendPipe: "/x",
    serverCapabilities: 0n,
    handlePassedToken: Buffer.alloc(16),
    connectionId: 7n,
  });
  assert.equal(n.negotiatedProtocol, PROTOCOL_MAX);
  assert.equal(n.daemonVersion, "1.2.3");
  assert.equal(n.connectionId, 7n);
});
