// The broker's small pure parts: Hello rate limiting and the tokens in flight.
import assert from "node:assert/strict";
import { test } from "node:test";
import { PendingTokens } from "../../src/broker/pending-tokens.js";
import { HelloRateLimiter } from "../../src/broker/rate-limit.js";

test("the rate limiter allows a burst, then refills at its rate, per peer", () => {
  const limiter = new HelloRateLimiter(10, 3);
  const t = 1_000_000;
  assert.deepEqual([limiter.take("a", t), limiter.take("a", t), limiter.take("a", t)], [0, 0, 0]);
  assert.equal(limiter.take("a", t), 100, "one token refills in 100 ms at 10/s");
  assert.equal(limiter.take("b", t), 0, "another peer has its own bucket");
  assert.equal(limiter.take("a", t + 100), 0);
});

test("pending tokens are counted in all and per peer, and stop counting when used or expired", () => {
  const tokens = new PendingTokens();
  const t = 1_000_000;
  tokens.add(1, "pid:1", t + 100);
  tokens.add(2, "pid:1", t + 200);
  tokens.add(3, "anonymous", t + 300);
  assert.equal(tokens.size(t), 3);
  assert.equal(tokens.countFor("pid:1", t), 2);
  assert.equal(tokens.countFor("pid:2", t), 0);
  tokens.delete(2);
  tokens.delete(2);
  assert.equal(tokens.countFor("pid:1", t), 1);
  assert.equal(tokens.countFor("pid:1", t + 100), 0, "expired");
  assert.equal(tokens.size(t + 100), 1);
  tokens.delete(1); // already gone by expiry: no effect
  assert.equal(tokens.countFor("anonymous", t + 100), 1);
  assert.equal(tokens.size(t + 300), 0);
});
