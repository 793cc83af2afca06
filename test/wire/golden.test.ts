// Golden bytes, written once by hand from the wire's field numbers and framing. They pin the wire:
// a change here breaks every client in every language.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  encodeFramed,
  Frame,
  frameBody,
  Frame_Kind,
  Frame_PayloadEncoding,
  HandoffAck,
  HandoffOffer,
  Hello,
  Negotiated,
  Refused,
  Refused_Code,
} from "../../src/wire/index.js";
import { ascii, hex } from "../helpers/bytes.js";

const TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
const TOKEN16 = hex("00 01 02 03 04 05 06 07 08 09 0A 0B 0C 0D 0E 0F");

const frame: Frame = {
  envelopeVersion: 1,
  kind: Frame_Kind.RESPONSE,
  payloadProtocol: 0xad01,
  payload: hex("DE AD BE EF"),
  requestId: 42n,
  payloadEncoding: Frame_PayloadEncoding.ZSTD,
  deadlineUnixMs: 1700000000000n,
  traceparent: TRACEPARENT,
  tracestate: "rp=1",
};
const frameBytes = hex(
  "08 01" +
    "10 01" +
    "18 81 DA 02" +
    "22 04 DE AD BE EF" +
    "28 2A" +
    "30 01" +
    "38 80 D0 95 FF BC 31" +
    "42 37" +
    ascii(TRACEPARENT) +
    "4A 04" +
    ascii("rp=1"),
);

const hello: Hello = {
  clientMinProtocol: 1,
  clientMaxProtocol: 3,
  serviceName: "build-cache",
  wantedVersion: "1.2.3-rc.1",
  clientVersion: "3.0.15",
  clientCapabilities: 0x8000000000000001n,
  authToken: hex("01 02 03"),
  requestId: "req-0001",
  connectionId: 0n,
  peerPid: 4242,
  clientLibName: "running-process",
  clientLibVersion: "3.0.15",
  peerAttestationNonce: hex("AA BB"),
  capabilityToken: hex("CC"),
  clientKeepaliveSecs: 30,
};
const helloBytes = hex(
  "08 01" +
    "10 03" +
    "1A 0B" +
    ascii("build-cache") +
    "22 0A" +
    ascii("1.2.3-rc.1") +
    "2A 06" +
    ascii("3.0.15") +
    "30 81 80 80 80 80 80 80 80 80 01" +
    "3A 03 01 02 03" +
    "42 08" +
    ascii("req-0001") +
    "50 92 21" +
    "5A 0F" +
    ascii("running-process") +
    "62 06" +
    ascii("3.0.15") +
    "6A 02 AA BB" +
    "72 01 CC" +
    "78 1E",
);

const negotiated: Negotiated = {
  negotiatedProtocol: 2,
  daemonVersion: "3.0.15",
  backendPipe: "rp-backend-7",
  warnings: ["w1", "w2"],
  serverCapabilities: 0x8000000000000001n,
  keepaliveIntervalSecs: 60,
  handlePassedToken: hex("10 20 30"),
  connectionId: 99n,
};
const negotiatedBytes = hex(
  "08 02" +
    "12 06" +
    ascii("3.0.15") +
    "1A 0C" +
    ascii("rp-backend-7") +
    "22 02" +
    ascii("w1") +
    "22 02" +
    ascii("w2") +
    "28 81 80 80 80 80 80 80 80 80 01" +
    "30 3C" +
    "3A 03 10 20 30" +
    "40 63",
);

const refused: Refused = {
  reason: "version below floor",
  daemonMinProtocol: 2,
  daemonMaxProtocol: 3,
  code: Refused_Code.VERSION_BLOCKED,
  details: { floor: "2" },
  retryAfterMs: 1500n,
};
const refusedBytes = hex(
  "0A 13" + ascii("version below floor") + "10 02" + "18 03" + "20 08" + "2A 0A 0A 05" + ascii("floor") + "12 01" + ascii("2") + "30 DC 0B",
);

const offer: HandoffOffer = { handleValue: 0xbecn, token: TOKEN16, serviceName: "build-cache", correlationId: 7n };
const offerBytes = hex("08 EC 17" + "12 10" + TOKEN16.toString("hex") + "1A 0B" + ascii("build-cache") + "20 07");

const ack: HandoffAck = { token: TOKEN16, accepted: true, errorDetail: "ok", correlationId: 7n };
const ackBytes = hex("0A 10" + TOKEN16.toString("hex") + "10 01" + "1A 02" + ascii("ok") + "20 07");

const cases = [
  { name: "Frame", type: Frame, value: frame, bytes: frameBytes },
  { name: "Hello", type: Hello, value: hello, bytes: helloBytes },
  { name: "Negotiated", type: Negotiated, value: negotiated, bytes: negotiatedBytes },
  { name: "Refused", type: Refused, value: refused, bytes: refusedBytes },
  { name: "HandoffOffer", type: HandoffOffer, value: offer, bytes: offerBytes },
  { name: "HandoffAck", type: HandoffAck, value: ack, bytes: ackBytes },
] as const;

for (const { name, type, value, bytes } of cases) {
  test(`${name} encodes to the golden bytes`, () => {
    const encoded = (type as { encode(v: unknown): { finish(): Uint8Array } }).encode(value).finish();
    assert.equal(Buffer.from(encoded).toString("hex"), bytes.toString("hex"));
  });

  test(`${name} decodes from the golden bytes`, () => {
    assert.deepEqual((type as { decode(b: Uint8Array): unknown }).decode(bytes), value);
  });
}

test("a framed Hello starts 01 64 00 00 00", () => {
  const framed = frameBody(Hello.encode(hello).finish());
  assert.equal(framed.subarray(0, 5).toString("hex"), "0164000000");
  assert.equal(framed.subarray(5).toString("hex"), helloBytes.toString("hex"));
});

test("a framed Frame is the version byte, the LE length and the golden body", () => {
  assert.equal(encodeFramed(frame).toString("hex"), "01" + "58000000" + frameBytes.toString("hex"));
});
