// The last bytes of a stream, kept in a ring: the same bytes as the end of everything pushed, for any
// sizes of pushes, and the pushed buffers are not kept (changing one afterwards changes nothing kept).
import assert from "node:assert/strict";
import { test } from "node:test";
import { TailBuffer } from "../../src/runtime/tail-buffer.js";
import { Random } from "../helpers/random.js";

test("bytes() is the end of everything pushed, whatever the pushes' sizes (seed 3)", () => {
  const random = new Random(3);
  for (let round = 0; round < 200; round++) {
    const limit = 1 + random.int(300);
    const tail = new TailBuffer(limit);
    const all: Buffer[] = [];
    for (let n = random.int(30); n > 0; n--) {
      const chunk = random.bytes(random.int(2 * limit));
      tail.push(chunk);
      all.push(Buffer.from(chunk));
      chunk.fill(0);
      const whole = Buffer.concat(all);
      assert.deepEqual(tail.bytes(), whole.subarray(Math.max(0, whole.length - limit)), `limit ${limit}`);
      const count = random.int(limit + 5);
      assert.deepEqual(tail.bytes(count), whole.subarray(Math.max(0, whole.length - Math.min(count, limit))), `last ${count}`);
    }
  }
});
