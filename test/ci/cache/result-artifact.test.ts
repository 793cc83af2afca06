// A job's result as a remote cache artifact: packed the same way every time, read back whole, and
// refused when it is not whole (truncated, altered, another format, another job's) or not signed by the key.
import assert from "node:assert/strict";
import { test } from "node:test";
import { artifactTag, checkTag, packResult, unpackResult, type ResultArtifact } from "../../../src/ci/cache/result-artifact.js";

const HASH = "a".repeat(64);
const result: ResultArtifact = {
  inputs: HASH,
  job: "build",
  startedAt: 1_000,
  finishedAt: 2_000,
  steps: [
    {
      name: "compile",
      command: "make",
      state: "complete",
      exitCode: 0,
      startedAt: 1_000,
      finishedAt: 1_500,
      log: Buffer.from("built\r\n"),
    },
    { name: "skip", command: "true", state: "skipped", exitCode: null, startedAt: null, finishedAt: 1_500, log: Buffer.alloc(0) },
  ],
  outputs: { version: "1.2", artifact: "dist/app" },
  files: [
    { path: "dist/app", kind: "file", mode: 0o755, data: Buffer.from([0, 1, 2, 255]) },
    { path: "dist", kind: "directory", mode: 0o755 },
    { path: "dist/latest", kind: "link", target: "app" },
  ],
};

test("the same result packs to the same bytes, whatever the order it was gathered in, and reads back as it was", () => {
  const bytes = packResult(result);
  const shuffled = packResult({ ...result, files: [...result.files].reverse(), outputs: { artifact: "dist/app", version: "1.2" } });
  assert.ok(bytes.equals(shuffled));
  const back = unpackResult(HASH, bytes);
  assert.deepEqual(back, { ...result, files: [result.files[1], result.files[0], result.files[2]] });
});

test("an artifact that is not whole, not quire's or not of the hash asked for is refused", () => {
  const bytes = packResult(result);
  const altered = Buffer.from(bytes);
  altered[altered.length - 3]! ^= 0x01;
  const cases: [string, Buffer, string][] = [
    ["altered", altered, HASH],
    ["truncated", bytes.subarray(0, bytes.length - 10), HASH],
    ["empty", Buffer.alloc(0), HASH],
    ["a turbo tarball", Buffer.from("\x1f\x8b\x08\x00 not quire's"), HASH],
    ["another job's", bytes, "b".repeat(64)],
  ];
  for (const [what, data, hash] of cases)
    assert.throws(() => unpackResult(hash, data), { code: "QUIRE_ERR_REMOTE_ARTIFACT_CORRUPT" }, what);
});

test("the signature is turbo's x-artifact-tag: HMAC-SHA256 of hash, team and bytes, checked in constant time", () => {
  const bytes = packResult(result);
  const tag = artifactTag("key", HASH, "team", bytes);
  checkTag("key", HASH, "team", bytes, tag);
  for (const [what, check] of [
    ["no tag", () => checkTag("key", HASH, "team", bytes, null)],
    ["another key", () => checkTag("other", HASH, "team", bytes, tag)],
    ["another team", () => checkTag("key", HASH, "other", bytes, tag)],
    ["a tag that is not base64 of one", () => checkTag("key", HASH, "team", bytes, "x")],
  ] as const)
    assert.throws(check, { code: "QUIRE_ERR_REMOTE_ARTIFACT_SIGNATURE" }, what);
});
