// The broker's bookkeeping of what it asked a backend over the control channel: every question is
// settled exactly once, by its answer, its timeout or the backend's exit, and a late answer finds nothing.
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import { AwaitedAnswers, ControlRequests } from "../../src/broker/control-requests.js";
import { BackendTimeoutError } from "../../src/broker/errors.js";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
afterEach(() => mock.timers.reset());

/** A question's outcome, as it settles. */
function outcome<T>() {
  const seen: { value?: T; error?: Error; settled: number } = { settled: 0 };
  return {
    seen,
    resolve: (value: T) => {
      seen.value = value;
      seen.settled++;
    },
    reject: (error: Error) => {
      seen.error = error;
      seen.settled++;
    },
  };
}

test("an answer settles its question once; a second answer, or one for a question never asked, finds nothing", () => {
  const answers = new AwaitedAnswers<number, string>("echo", "metrics");
  const asked = outcome<string>();
  answers.wait(1, asked.resolve, asked.reject, 1_000);
  assert.equal(answers.size, 1);
  answers.settle(1)?.resolve("families");
  assert.deepEqual(asked.seen, { value: "families", settled: 1 });
  assert.equal(answers.size, 0);
  assert.equal(answers.settle(1), undefined, "answered already");
  assert.equal(answers.settle(2), undefined, "never asked");
  mock.timers.tick(1_000);
  assert.equal(asked.seen.settled, 1, "the timeout of an answered question does not fire");
});

test("a question not answered in time is rejected at its timeout, and its late answer is ignored", () => {
  const answers = new AwaitedAnswers<bigint, string>("echo", "handoff ACK");
  const asked = outcome<string>();
  answers.wait(7n, asked.resolve, asked.reject, 2_000);
  mock.timers.tick(1_999);
  assert.equal(asked.seen.settled, 0, "still waiting before the deadline");
  mock.timers.tick(1);
  assert.equal(asked.seen.settled, 1);
  assert.ok(asked.seen.error instanceof BackendTimeoutError, "rejected with an error");
  assert.equal(asked.seen.error.code, "QUIRE_ERR_BACKEND_TIMEOUT");
  assert.equal(answers.size, 0);
  assert.equal(answers.settle(7n), undefined, "a late answer finds no waiter");
});

test("a deadline already passed rejects on the next timer turn, not at once", () => {
  const answers = new AwaitedAnswers<number, string>("echo", "answer to the idle question");
  const asked = outcome<string>();
  answers.wait(1, asked.resolve, asked.reject, -50);
  assert.equal(asked.seen.settled, 0, "the caller can still send the question");
  mock.timers.tick(0);
  assert.ok(asked.seen.error instanceof Error);
});

test("the backend's exit rejects everything still asked, each with an error of its own, and clears the timeouts", () => {
  const requests = new ControlRequests("echo");
  const ack = outcome<unknown>();
  const metrics = outcome<unknown>();
  const idle = outcome<unknown>();
  requests.acks.wait(1n, ack.resolve, ack.reject, 1_000);
  requests.metrics.wait(requests.nextSeq(), metrics.resolve, metrics.reject, 1_000);
  requests.idleQuestions.wait(requests.nextSeq(), idle.resolve, idle.reject, 1_000);
  const made: Error[] = [];
  requests.rejectAll(() => {
    const error = new Error("backend killed by SIGKILL");
    made.push(error);
    return error;
  });
  assert.equal(made.length, 3);
  assert.deepEqual([ack.seen.error, metrics.seen.error, idle.seen.error], made);
  assert.deepEqual([requests.acks.size, requests.metrics.size, requests.idleQuestions.size], [0, 0, 0]);
  mock.timers.tick(1_000);
  assert.deepEqual([ack.seen.settled, metrics.seen.settled, idle.seen.settled], [1, 1, 1], "no timeout fires afterwards");
});

test("metrics and idle questions share one sequence, so an answer names exactly one question", () => {
  const requests = new ControlRequests("echo");
  const seqs = [requests.nextSeq(), requests.nextSeq(), requests.nextSeq()];
  assert.equal(new Set(seqs).size, 3);
  assert.ok(seqs[0]! < seqs[1]! && seqs[1]! < seqs[2]!);
});
