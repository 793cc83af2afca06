import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { test } from "node:test";
import { newTokenKey, TokenChecker, tokenLength, TokenSealer } from "../../src/core/tokens.js";

const NOW = 1_000_000;

function pair(maxUsed?: number) {
  const key = newTokenKey();
  return { sealer: new TokenSealer(key), checker: new TokenChecker(key, { maxUsed }) };
}

test("minted tokens are random, of the documented length, and carry their claims", () => {
  const { sealer } = pair();
  const a = sealer.mint("echo", NOW + 100, 42);
  assert.equal(a.length, tokenLength("echo"));
  assert.equal(a.length, 50);
  assert.notDeepEqual(a, sealer.mint("echo", NOW + 100, 42));
  const claims = sealer.open(a)!;
  assert.equal(claims.service, "echo");
  assert.equal(claims.expiresAt, NOW + 100);
  assert.equal(claims.id, 42);
  assert.equal(tokenLength("x".repeat(64)), 110);
});

test("a token is consumed once, for its own service, before it expires", () => {
  const { sealer, checker } = pair();
  const t = sealer.mint("echo", NOW + 100, 42);
  assert.deepEqual(checker.consume(t, "ci", NOW), { ok: false, reason: "wrong-service" });
  assert.deepEqual(checker.consume(t, "echo", NOW), { ok: true, id: 42 });
  assert.deepEqual(checker.consume(t, "echo", NOW), { ok: false, reason: "unknown" }, "replayed");
  const late = sealer.mint("echo", NOW + 100, 1);
  assert.deepEqual(checker.consume(late, "echo", NOW + 100), { ok: false, reason: "expired" });
  assert.deepEqual(checker.consume(late, "echo", NOW + 99), { ok: true, id: 1 }, "refusing it as expired did not use it up");
});

test("a near miss and a wrong length are unknown", () => {
  const { sealer, checker } = pair();
  const t = sealer.mint("echo", NOW + 10_000, 1);
  const near = Buffer.from(t);
  near[15]! ^= 0x80;
  assert.equal(checker.consume(near, "echo", NOW).ok, false);
  assert.equal(checker.consume(t.subarray(0, t.length - 1), "echo", NOW).ok, false);
  assert.equal(checker.consume(Buffer.concat([t, Buffer.of(0)]), "echo", NOW).ok, false);
  assert.equal(checker.consume(Buffer.alloc(0), "echo", NOW).ok, false);
  assert.equal(checker.consume(t, "echo", NOW).ok, true);
});

// Layout: [u8 format][16 nonce][u48 expiry][u48 id][u8 service length][service][16 MAC].
const FIELDS = { format: 0, nonce: 1, expiry: 17, id: 23, serviceLength: 29, service: 30 };

test("a bit flipped anywhere (MAC, nonce, expiry, id, service, format) makes a forgery", () => {
  const { sealer, checker } = pair();
  const t = sealer.mint("echo", NOW + 10_000, 7);
  const places = { ...FIELDS, mac: t.length - 16, macLast: t.length - 1, expiryLow: FIELDS.expiry + 5 };
  for (const [field, at] of Object.entries(places)) {
    for (const bit of [0, 7]) {
      const forged = Buffer.from(t);
      forged[at]! ^= 1 << bit;
      assert.deepEqual(checker.consume(forged, "echo", NOW), { ok: false, reason: "unknown" }, `bit ${bit} of the ${field}`);
    }
  }
  assert.equal(checker.consume(t, "echo", NOW).ok, true, "no forgery used the genuine token up");
});

test("a token for another service cannot be turned into one for ours", () => {
  const { sealer, checker } = pair();
  const ci = sealer.mint("ci", NOW + 10_000, 3);
  assert.deepEqual(checker.consume(ci, "echo", NOW), { ok: false, reason: "wrong-service" });
  // Rewriting the service in place ("ci" -> "ec"...) breaks the MAC.
  const rewritten = Buffer.from(ci);
  rewritten.write("ec", FIELDS.service, "latin1");
  assert.deepEqual(checker.consume(rewritten, "echo", NOW), { ok: false, reason: "unknown" });
  assert.deepEqual(checker.consume(ci, "ci", NOW), { ok: true, id: 3 });
});

test("a longer expiry written into a genuine token is a forgery, not a longer life", () => {
  const { sealer, checker } = pair();
  const t = sealer.mint("echo", NOW + 100, 1);
  const extended = Buffer.from(t);
  extended.writeUIntBE(NOW + 1_000_000, FIELDS.expiry, 6);
  assert.deepEqual(checker.consume(extended, "echo", NOW + 200), { ok: false, reason: "unknown" });
  assert.deepEqual(checker.consume(t, "echo", NOW + 200), { ok: false, reason: "expired" });
});

test("a token sealed by another daemon (another key) is unknown, however well formed", () => {
  const ours = pair();
  const theirs = pair();
  const t = theirs.sealer.mint("echo", NOW + 10_000, 1);
  assert.deepEqual(ours.checker.consume(t, "echo", NOW), { ok: false, reason: "unknown" });
  assert.equal(theirs.checker.consume(t, "echo", NOW).ok, true);
});

test("a replay after the used token has been swept is refused as expired", () => {
  const { sealer, checker } = pair();
  const t = sealer.mint("echo", NOW + 100, 1);
  assert.equal(checker.consume(t, "echo", NOW).ok, true);
  checker.sweep(NOW + 50);
  assert.equal(checker.used, 1, "still within its TTL: remembered");
  assert.deepEqual(checker.consume(t, "echo", NOW + 50), { ok: false, reason: "unknown" });
  checker.sweep(NOW + 100);
  assert.equal(checker.used, 0);
  assert.deepEqual(checker.consume(t, "echo", NOW + 100), { ok: false, reason: "expired" });
});

test("the used set is bounded and makes room by dropping expired tokens", () => {
  const { sealer, checker } = pair(2);
  assert.equal(checker.consume(sealer.mint("echo", NOW + 10, 1), "echo", NOW).ok, true);
  assert.equal(checker.consume(sealer.mint("echo", NOW + 10_000, 2), "echo", NOW).ok, true);
  assert.equal(checker.consume(sealer.mint("echo", NOW + 10_000, 3), "echo", NOW + 10).ok, true, "the expired one made room");
  assert.deepEqual(checker.consume(sealer.mint("echo", NOW + 10_000, 4), "echo", NOW + 10), { ok: false, reason: "full" });
  assert.equal(checker.used, 2);
});

test("keys are 32 bytes", () => {
  assert.equal(newTokenKey().length, 32);
  assert.throws(() => new TokenSealer(Buffer.alloc(16)), RangeError);
});

test("the MAC is HMAC-SHA256 of everything before it, truncated to 16 bytes", () => {
  const key = newTokenKey();
  const sealer = new TokenSealer(key);
  for (const service of ["echo", "x", "y".repeat(64)]) {
    const t = sealer.mint(service, NOW + 1, 2 ** 40 + 5);
    const body = t.subarray(0, t.length - 16);
    assert.deepEqual(t.subarray(t.length - 16), createHmac("sha256", key).update(body).digest().subarray(0, 16), service);
    assert.equal(sealer.open(t)?.id, 2 ** 40 + 5);
  }
});
