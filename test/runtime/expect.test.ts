// expect() over output that came while nobody waited (kept as bytes, decoded once someone does): the same
// text as if it had been decoded as it came, a character split between chunks included, and past the
// window the newest output, beginning at a whole character.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Expecter } from "../../src/runtime/expect.js";

test("output fed before and between waits is matched as text, characters split between chunks included", async () => {
  const expecter = new Expecter();
  const bytes = Buffer.from("one é two 🔑 three");
  for (let i = 0; i < bytes.length; i++) expecter.feed(bytes.subarray(i, i + 1));
  assert.deepEqual(await expecter.expect("two", undefined), { match: "two", before: "one é ", groups: [] });
  const more = Buffer.from(" four 🔑 five");
  expecter.feed(more.subarray(0, 8));
  expecter.feed(more.subarray(8));
  const match = await expecter.expect(/f(\w+)e/, undefined);
  assert.equal(match.before, " 🔑 three four 🔑 ");
  assert.deepEqual(match.groups, ["iv"]);
});

test("past the window, what is kept is the newest output, from a whole character on", async () => {
  const expecter = new Expecter();
  // 2-byte characters in odd-sized chunks: the window's edge falls inside one of them.
  const text = Buffer.from("é".repeat(600_000));
  for (let at = 0; at < text.length; at += 4095) expecter.feed(text.subarray(at, at + 4095));
  expecter.feed(Buffer.from("END"));
  const { before } = await expecter.expect("END", undefined);
  assert.ok(before.length > 100_000 && before.length < 600_000, `${before.length} characters kept`);
  assert.equal(before, "é".repeat(before.length), "no replacement character at the edge");
});
