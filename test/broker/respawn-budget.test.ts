// The respawn budget: 3 crashes in 30 s are respawned after the delay; the 4th spends the budget until
// the oldest crash leaves the window; retry_after_ms says when a refused Hello should come back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RespawnBudget, TYPICAL_START_MS } from "../../src/broker/respawn-budget.js";

const policy = { budget: 3, windowMs: 30_000, delayMs: 250 };

test("crashes within the budget are respawned after the delay; retry after the respawn and a typical start", () => {
  const budget = new RespawnBudget(policy);
  for (const at of [1_000, 2_000, 3_000]) {
    assert.equal(budget.crashed(at), true, `crash at ${at} is within the budget`);
    assert.equal(budget.retryAfterRespawn(at), policy.delayMs + TYPICAL_START_MS);
    assert.equal(budget.retryAfterRespawn(at + 100), policy.delayMs - 100 + TYPICAL_START_MS, "counts down");
  }
  assert.equal(budget.crashes, 3);
});

test("one crash more than the budget within the window spends it until the oldest crash leaves the window", () => {
  const budget = new RespawnBudget(policy);
  for (const at of [1_000, 2_000, 3_000]) budget.crashed(at);
  assert.equal(budget.crashed(4_000), false, "the 4th crash in 30 s spends the budget");
  assert.equal(budget.crashes, 4);
  assert.equal(budget.retryAfterSpent(4_000), 1_000 + policy.windowMs - 4_000);
  assert.ok(budget.retryAfterSpent(1_000 + policy.windowMs) <= 0, "once the oldest crash has left the window a launch may be tried");
});

test("crashes older than the window no longer count", () => {
  const budget = new RespawnBudget(policy);
  for (const at of [0, 1_000, 2_000]) budget.crashed(at);
  // The window is (now - windowMs, now]: the crash at 0 has left it 30 s later.
  assert.equal(budget.crashed(policy.windowMs), true);
  assert.equal(budget.crashes, 3);
  assert.equal(budget.crashed(policy.windowMs + 1_000), true, "the crash at 1 s has left too");
  assert.equal(budget.crashed(policy.windowMs + 1_500), false, "four within the window");
});

test("a respawn decided before the exit is seen (an unresponsive backend killed) counts from the decision", () => {
  const budget = new RespawnBudget(policy);
  budget.respawnDue(10_000);
  assert.equal(budget.retryAfterRespawn(10_000), policy.delayMs + TYPICAL_START_MS);
  assert.equal(budget.crashes, 0, "deciding to kill is not a crash; the exit is counted when it comes");
});
