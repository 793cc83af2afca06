// Expressions as GitHub evaluates them: every function, the operators, the status functions, and the
// coercions a step's text goes through.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  checkCondition,
  checkTemplate,
  evaluateCondition,
  evaluateTemplate,
  evaluateValue,
  splitTemplate,
  type Scope,
} from "../../../src/ci/expressions/template.js";

const scope: Scope = {
  contexts: {
    github: { ref: "refs/heads/main", sha: "abc123", event_name: "push" },
    matrix: { node: 20, os: "ubuntu-latest", list: ["a", "b"] },
    env: { NAME: "quire" },
    steps: { build: { outputs: { version: "1.2.3" }, outcome: "success", conclusion: "success" } },
    needs: { lint: { result: "failure", outputs: {} } },
  },
  hashFiles: (patterns) => `hash(${patterns.join("|")})`,
};
const ev = (text: string, s: Scope = scope) => evaluateTemplate(text, s);

test("every built-in function", () => {
  assert.equal(ev("${{ contains('Hello', 'ell') }}"), "true");
  assert.equal(ev("${{ contains(matrix.list, 'b') }}"), "true");
  assert.equal(ev("${{ startsWith(github.ref, 'refs/heads/') }}"), "true");
  assert.equal(ev("${{ endsWith(matrix.os, '-latest') }}"), "true");
  assert.equal(ev("${{ format('{0}-{1}', env.NAME, matrix.node) }}"), "quire-20");
  assert.equal(ev("${{ join(matrix.list, '+') }}"), "a+b");
  assert.equal(ev("${{ toJSON(matrix.list) }}"), '[\n  "a",\n  "b"\n]');
  assert.equal(ev("${{ fromJSON('{\"a\": [1, 2]}').a[1] }}"), "2");
  assert.equal(ev("${{ hashFiles('**/package-lock.json', 'x') }}"), "hash(**/package-lock.json|x)");
});

test("operators, literals, property access and null as empty text", () => {
  assert.equal(ev("${{ matrix.node == 20 && 'yes' || 'no' }}"), "yes");
  assert.equal(ev("${{ matrix.node > 18 }} ${{ !true }} ${{ 0x10 }} ${{ 'it''s' }}"), "true false 16 it's");
  assert.equal(ev("v${{ steps.build.outputs.version }}!"), "v1.2.3!");
  assert.equal(ev("[${{ steps.nosuch.outputs.x }}]"), "[]");
  assert.equal(ev("${{ matrix['os'] }}"), "ubuntu-latest");
  assert.deepEqual(evaluateValue("${{ fromJSON('[1, 2]') }}", scope), [1, 2]);
});

test("status functions follow the job's status, and a condition without one is guarded by success()", () => {
  const failed: Scope = { ...scope, status: { failed: true, cancelled: false } };
  assert.equal(evaluateCondition(null, scope), true);
  assert.equal(evaluateCondition(null, failed), false);
  assert.equal(evaluateCondition("failure()", failed), true);
  assert.equal(evaluateCondition("${{ always() }}", failed), true);
  assert.equal(evaluateCondition("cancelled()", failed), false);
  assert.equal(evaluateCondition("matrix.node == 20", failed), false, "success() && (...) after a failure");
  assert.equal(evaluateCondition("needs.lint.result == 'failure'", scope), true);
  assert.equal(evaluateCondition("github.event_name == 'pull_request'", scope), false);
});

test("checks find bad expressions and contexts a key may not use, before anything runs", () => {
  assert.deepEqual(checkTemplate("ok ${{ matrix.x }}", ["matrix"]), []);
  assert.match(checkTemplate("${{ matrix.x }}", ["github"])[0]!.message, /Unrecognized named-value: 'matrix'/);
  assert.match(checkTemplate("${{ nosuchfn(1) }}", ["github"])[0]!.message, /Unrecognized function: 'nosuchfn'/);
  assert.match(checkTemplate("${{ github.x ", ["github"])[0]!.message, /not closed/);
  assert.match(checkTemplate("${{ }}", ["github"])[0]!.message, /empty expression/);
  assert.deepEqual(checkCondition("success() && github.ref == 'x'", ["github"], ["success"]), []);
  assert.match(checkCondition("a ${{ github.ref }}", ["github"], [])[0]!.message, /one expression/);
});

test("a `}}` inside a string literal does not end the expression", () => {
  const { parts } = splitTemplate("a ${{ format('{0}}}', 'x') }} b");
  assert.deepEqual(
    parts.map((p) => [p.expression, p.text]),
    [
      [false, "a "],
      [true, "format('{0}}}', 'x')"],
      [false, " b"],
    ],
  );
});
