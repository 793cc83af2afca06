// Redaction: every occurrence of a secret becomes `***` whatever the chunking, in time linear in the output
// (long and repetitive secrets included), holding back only what could still begin a secret.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Redactor, redactString } from "../../../src/ci/output/redact.js";
import { Random } from "../../helpers/random.js";

function redactChunks(secrets: string[], chunks: Buffer[]): string {
  const redactor = new Redactor(secrets);
  return Buffer.concat([...chunks.map((chunk) => redactor.push(chunk)), redactor.end()]).toString();
}

describe("Redactor", () => {
  const cases: { name: string; secrets: string[]; input: string; expected: string }[] = [
    { name: "a plain secret", secrets: ["hunter2"], input: "pw=hunter2; again hunter2.", expected: "pw=***; again ***." },
    { name: "overlapping secrets", secrets: ["abcd", "cdef"], input: "xabcdefy abcd cdef", expected: "x***y *** ***" },
    {
      name: "a secret that is a prefix of another",
      secrets: ["abc", "abcdef"],
      input: "abcdef abcxyz abcde ab",
      expected: "*** ***xyz ***de ab",
    },
    { name: "a secret overlapping itself", secrets: ["aaa"], input: "aaaaa aa aaa", expected: "*** aa ***" },
    { name: "occurrences that only touch", secrets: ["abc"], input: "abcabc", expected: "******" },
    { name: "regex metacharacters", secrets: ["a.b*c(d)[e]$^\\|+?"], input: "a.b*c(d)[e]$^\\|+? aXbbc(d)[e]", expected: "*** aXbbc(d)[e]" },
    { name: "a non-ASCII secret", secrets: ["pässwörd🔑"], input: "ok pässwörd🔑 done pässwör", expected: "ok *** done pässwör" },
    {
      name: "a multi-line secret as a PTY prints it",
      secrets: ["line-one\nline-two"],
      input: "line-one\r\nline-two\r\nthen line-two",
      expected: "***\r\nthen ***",
    },
    { name: "secrets too short to redact", secrets: ["ab", "x", ""], input: "ab x ab", expected: "ab x ab" },
  ];

  for (const { name, secrets, input, expected } of cases) {
    test(`${name}: redacted whole, split at every byte offset, and split three ways`, () => {
      const bytes = Buffer.from(input);
      assert.equal(redactString(input, secrets), expected);
      for (let i = 0; i <= bytes.length; i++) {
        assert.equal(redactChunks(secrets, [bytes.subarray(0, i), bytes.subarray(i)]), expected, `split at ${i}`);
        for (let j = i; j <= bytes.length; j++) {
          const pieces = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)];
          assert.equal(redactChunks(secrets, pieces), expected, `split at ${i} and ${j}`);
        }
      }
      const oneByteAtATime = [...bytes].map((byte) => Buffer.from([byte]));
      assert.equal(redactChunks(secrets, oneByteAtATime), expected);
    });
  }

  test("random secrets, text and chunking agree with marking every occurrence by brute force (seed 8)", () => {
    const random = new Random(8);
    const word = (length: number) => Array.from({ length }, () => random.pick(["a", "b", "c"])).join("");
    for (let round = 0; round < 300; round++) {
      const secrets = Array.from({ length: 1 + random.int(3) }, () => word(3 + random.int(4)));
      const input = Buffer.from(word(random.int(40)));
      const chunks: Buffer[] = [];
      for (let at = 0; at < input.length; ) {
        const size = 1 + random.int(6);
        chunks.push(input.subarray(at, at + size));
        at += size;
      }
      assert.equal(redactChunks(secrets, chunks), bruteForce(input, secrets), `secrets ${secrets} in ${input}`);
    }
  });

  test("holds back only a tail that could begin a secret", () => {
    const redactor = new Redactor(["secret", "token"]);
    assert.equal(redactor.push(Buffer.from("hello world\n")).toString(), "hello world\n", "no secret prefix at the end: passes whole");
    assert.equal(redactor.push(Buffer.from("x secre")).toString(), "x ", "holds the longest secret minus one byte at most");
    assert.equal(redactor.push(Buffer.from("t! to")).toString(), "***! ");
    assert.equal(redactor.push(Buffer.from("p")).toString(), "top", "held bytes that turn out not to be a secret come out");
    assert.equal(redactor.push(Buffer.from("sec")).toString(), "");
    assert.equal(redactor.end().toString(), "sec", "a partial secret at the end is just bytes");
  });
});

/** Every byte inside an occurrence is covered; each run of overlapping occurrences becomes one mask. */
function bruteForce(input: Buffer, secrets: string[]): string {
  const ends: number[] = new Array(input.length).fill(0); // the furthest occurrence end starting at i
  for (const secret of secrets.map((s) => Buffer.from(s))) {
    for (let i = 0; i + secret.length <= input.length; i++) {
      if (input.subarray(i, i + secret.length).equals(secret)) ends[i] = Math.max(ends[i]!, i + secret.length);
    }
  }
  const out: number[] = [];
  for (let i = 0; i < input.length; ) {
    if (ends[i] === 0) {
      out.push(input[i++]!);
      continue;
    }
    let end = ends[i]!;
    for (let j = i + 1; j < end; j++) end = Math.max(end, ends[j]!);
    out.push(...Buffer.from("***"));
    i = end;
  }
  return Buffer.from(out).toString();
}

describe("Redactor on random and pathological input", () => {
  /** Pieces of `input` cut at random, from single bytes to a few hundred. */
  const cut = (random: Random, input: Buffer, largest: number): Buffer[] => {
    const chunks: Buffer[] = [];
    for (let at = 0; at < input.length; ) {
      const size = 1 + random.int(largest);
      chunks.push(input.subarray(at, at + size));
      at += size;
    }
    return chunks;
  };

  test("random secrets (prefixes of each other, overlapping, repetitive) over random text and chunking agree with brute force (seed 20)", () => {
    const random = new Random(20);
    for (let round = 0; round < 400; round++) {
      const alphabet = ["a", "b", "c", "ab", "é"].slice(0, 2 + random.int(4));
      const word = (length: number) => Array.from({ length }, () => random.pick(alphabet)).join("");
      const secrets = Array.from({ length: 1 + random.int(5) }, () => word(3 + random.int(12)));
      // A secret that extends another, and one that repeats itself, in every other round.
      if (round % 2 === 0) secrets.push(secrets[0]! + word(1 + random.int(4)), secrets[0]!.repeat(2 + random.int(3)));
      const input = Buffer.from(word(random.int(300)) + secrets.map((s) => s + word(random.int(3))).join(""));
      assert.equal(
        redactChunks(secrets, cut(random, input, 1 + random.int(40))),
        bruteForce(input, secrets),
        `secrets ${secrets} in ${input}`,
      );
    }
  });

  test("a 100 KB secret of one byte, and one repeating a short pattern, are found in output made of them, in any chunking", () => {
    const random = new Random(21);
    const ones = "a".repeat(100_000);
    const pattern = "abc".repeat(33_334);
    for (const [secret, output, expected] of [
      [ones, `x${"a".repeat(250_000)}y${"a".repeat(99_999)}z`, `x***y${"a".repeat(99_999)}z`],
      [pattern, `${"abc".repeat(100_000)}ab|${pattern.slice(1)}`, `***ab|${pattern.slice(1)}`],
      [ones, "a".repeat(100_000), "***"],
    ] as const) {
      const input = Buffer.from(output);
      for (const largest of [1, 4096, 200_000]) {
        assert.equal(redactChunks([secret], cut(random, input, largest)), expected, `chunks of up to ${largest} bytes`);
      }
    }
  });

  test("holds back at most the longest secret less one byte, however long the masked region grows", () => {
    const redactor = new Redactor(["a".repeat(1000)]);
    let out = "";
    for (let i = 0; i < 50; i++) {
      out += redactor.push(Buffer.alloc(4096, "a")).toString();
      assert.equal(out, "", "a region that may still grow is not released");
    }
    out += redactor.push(Buffer.from("b")).toString();
    assert.equal(out, "***b");
    assert.equal(redactor.holding, false);
  });

  test("flush() releases held bytes at once; the rest of a secret that then arrives is still masked", () => {
    const redactor = new Redactor(["hunter22"]);
    assert.equal(redactor.push(Buffer.from("Password: hun")).toString(), "Password: ");
    assert.equal(redactor.holding, true);
    assert.equal(redactor.flush().toString(), "hun", "a quiet output is not kept waiting");
    assert.equal(redactor.holding, false);
    assert.equal(redactor.push(Buffer.from("ter22 ok")).toString(), "*** ok", "the part still to come is masked");
    assert.equal(redactor.push(Buffer.from(" hunter22")).toString(), " ***");
    assert.equal(redactor.end().toString(), "");
  });

  test("a secret printed slower than the quiet flush shows only the piece before the first flush", () => {
    const redactor = new Redactor(["hunter22"]);
    // A byte, then quiet (the step's timer flushes), then the next byte: each flush used to release one more.
    const out = [...Buffer.from("hunter22 ok")].map((byte) => Buffer.concat([redactor.push(Buffer.from([byte])), redactor.flush()]));
    assert.equal(Buffer.concat([...out, redactor.end()]).toString(), "h*** ok");
    assert.equal(redactor.push(Buffer.from("hun")).toString(), "");
    assert.equal(redactor.flush().toString(), "hun", "a new beginning is released by a flush again");
    assert.equal(redactor.push(Buffer.from("x")).toString(), "x");
    assert.equal(redactor.end().toString(), "");
  });

  test("a value added whose occurrence begins deep in a masked region still open is masked to its end", () => {
    // The region of abab (repeated end to end) is longer than the 3 bytes held for abab; the added value
    // began inside it, and its end is still to come.
    for (const repeats of [2, 10, 5000]) {
      const redactor = new Redactor(["abab"]);
      const out = [redactor.push(Buffer.from(`xx${"ab".repeat(repeats)}`))];
      redactor.add(`${"ba".repeat(repeats - 1)}bXYZW`);
      out.push(redactor.push(Buffer.from("XYZW end")), redactor.end());
      assert.equal(Buffer.concat(out).toString(), "xx*** end", `${repeats} repeats`);
    }
  });

  test("a value added after a flush leaves the secret whose beginning the flush released masked", () => {
    const redactor = new Redactor(["hunter22-value"]);
    assert.equal(redactor.push(Buffer.from("use h")).toString(), "use ");
    assert.equal(redactor.flush().toString(), "h");
    redactor.add("second-secret");
    assert.equal(redactor.push(Buffer.from("unter22-value and second-secret ")).toString(), "*** and *** ");
    assert.equal(redactor.end().toString(), "");
  });

  test("a value added while bytes are held is redacted from them too, and the longest match wins", () => {
    const redactor = new Redactor(["token-1"]);
    assert.equal(redactor.push(Buffer.from("a token-")).toString(), "a ");
    redactor.add("token-12345");
    assert.equal(redactor.push(Buffer.from("12345 and token-1 and token-12")).toString(), "*** and *** and ");
    assert.equal(redactor.end().toString(), "***2", "the held token-12 holds token-1");
  });

  test("without secrets a chunk comes back as the same Buffer", () => {
    const chunk = Buffer.from("plain output\r\n");
    assert.equal(new Redactor([]).push(chunk), chunk);
    assert.equal(new Redactor(["hunter22"]).push(chunk), chunk, "nothing in it begins a secret");
  });
});
