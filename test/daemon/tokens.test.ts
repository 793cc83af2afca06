import assert from "node:assert/strict";
import { test } from "node:test";
import { mintToken, TokenStore, TOKEN_BYTES } from "../../src/daemon/tokens.js";

test("minted tokens are 16 random bytes", () => {
  const a = mintToken();
  assert.equal(a.length, TOKEN_BYTES);
  assert.notDeepEqual(a, mintToken());
});

test("a token is consumed once, for its own service, before it expires", () => {
  const store = new TokenStore();
  const t = mintToken();
  const now = 1_000;
  store.add(t, "echo", now + 100, 42);
  assert.deepEqual(store.consume(t, "ci", now), { ok: false, reason: "wrong-service" });
  assert.deepEqual(store.consume(t, "echo", now), { ok: true, id: 42 });
  assert.deepEqual(store.consume(t, "echo", now), { ok: false, reason: "unknown" });
  const late = mintToken();
  store.add(late, "echo", now + 100, 1);
  assert.deepEqual(store.consume(late, "echo", now + 100), { ok: false, reason: "expired" });
});

test("a near miss and a wrong length are unknown", () => {
  const store = new TokenStore();
  const t = mintToken();
  store.add(t, "echo", Date.now() + 10_000, 1);
  const near = Buffer.from(t);
  near[15]! ^= 0x80;
  assert.equal(store.consume(near, "echo").ok, false);
  assert.equal(store.consume(t.subarray(0, 15), "echo").ok, false);
  assert.equal(store.consume(t, "echo").ok, true);
});

test("the store is bounded and makes room by dropping expired tokens", () => {
  const store = new TokenStore({ max: 2 });
  assert.equal(store.add(mintToken(), "echo", 10, 1), true);
  assert.equal(store.add(mintToken(), "echo", Date.now() + 10_000, 2), true);
  assert.equal(store.add(mintToken(), "echo", Date.now() + 10_000, 3), true, "the expired one made room");
  assert.equal(store.add(mintToken(), "echo", Date.now() + 10_000, 4), false);
  assert.equal(store.size, 2);
});
