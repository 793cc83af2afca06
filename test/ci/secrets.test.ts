// Secrets at rest: the key file's life (created 0600, reused, refused when unsafe) and sealed boxes.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { SecretBox } from "../../src/ci/secrets.js";

const dir = mkdtempSync(join(tmpdir(), "quire-secrets-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const posix = process.platform !== "win32";

test("the key file is created 0600 (its directory 0700) on first use, and read again after", () => {
  const keyFile = join(dir, "home", "secret.key");
  const first = SecretBox.open(keyFile);
  assert.equal(statSync(keyFile).size, 32);
  if (posix) {
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, "home")).mode & 0o777, 0o700);
  }
  const key = readFileSync(keyFile);
  const sealed = first.seal("s3cr3t value ✓");
  const second = SecretBox.open(keyFile);
  assert.ok(readFileSync(keyFile).equals(key), "the second open keeps the key");
  assert.equal(second.open(sealed.nonce, sealed.box), "s3cr3t value ✓");
});

test("each seal has its own nonce, and the box does not contain the plain text", () => {
  const box = SecretBox.open(join(dir, "nonces.key"));
  const a = box.seal("same");
  const b = box.seal("same");
  assert.equal(a.nonce.length, 24);
  assert.ok(!a.nonce.equals(b.nonce));
  assert.ok(!a.box.equals(b.box));
  assert.ok(!a.box.includes(Buffer.from("same")));
  assert.equal(box.open(a.nonce, a.box), "same");
  assert.equal(box.open(b.nonce, b.box), "same");
  const empty = box.seal("");
  assert.equal(box.open(empty.nonce, empty.box), "");
});

test("a key file others may read is refused with a typed error naming the path", { skip: !posix }, () => {
  const keyFile = join(dir, "loose.key");
  writeFileSync(keyFile, Buffer.alloc(32, 7), { mode: 0o644 });
  chmodSync(keyFile, 0o644);
  assert.throws(
    () => SecretBox.open(keyFile),
    (error: any) => {
      assert.equal(error.code, "QUIRE_ERR_SECRET_KEY");
      assert.equal(error.path, keyFile);
      assert.match(error.fix, /chmod 600/);
      return true;
    },
  );
  chmodSync(keyFile, 0o640);
  assert.throws(() => SecretBox.open(keyFile), { code: "QUIRE_ERR_SECRET_KEY", path: keyFile });
  chmodSync(keyFile, 0o600);
  SecretBox.open(keyFile);
});

test("a key file of the wrong length is refused, not replaced", () => {
  for (const size of [0, 31, 33, 64]) {
    const keyFile = join(dir, `short-${size}.key`);
    writeFileSync(keyFile, Buffer.alloc(size, 1), { mode: 0o600 });
    assert.throws(() => SecretBox.open(keyFile), { code: "QUIRE_ERR_SECRET_KEY", path: keyFile });
    assert.equal(statSync(keyFile).size, size, "the damaged key is left for the person to look at");
  }
});

test("a key path that is a directory or a symlink is refused", { skip: !posix }, () => {
  assert.throws(() => SecretBox.open(dir), { code: "QUIRE_ERR_SECRET_KEY", path: dir });
  const target = join(dir, "target.key");
  writeFileSync(target, Buffer.alloc(32, 2), { mode: 0o600 });
  const link = join(dir, "link.key");
  symlinkSync(target, link);
  assert.throws(() => SecretBox.open(link), { code: "QUIRE_ERR_SECRET_KEY", path: link });
});

test("a box sealed with another key, or damaged, does not open: a typed error", () => {
  const sealed = SecretBox.open(join(dir, "one.key")).seal("token-1234");
  const other = SecretBox.open(join(dir, "two.key"));
  assert.throws(() => other.open(sealed.nonce, sealed.box), { code: "QUIRE_ERR_SECRET_DECRYPT" });
  const same = SecretBox.open(join(dir, "one.key"));
  const flipped = Buffer.from(sealed.box);
  flipped[flipped.length - 1] ^= 1;
  assert.throws(() => same.open(sealed.nonce, flipped), { code: "QUIRE_ERR_SECRET_DECRYPT" });
  assert.throws(() => same.open(sealed.nonce.subarray(1), sealed.box), { code: "QUIRE_ERR_SECRET_DECRYPT" });
  assert.throws(() => same.open(sealed.nonce, Buffer.alloc(3)), { code: "QUIRE_ERR_SECRET_DECRYPT" });
  assert.equal(same.open(sealed.nonce, sealed.box), "token-1234");
});
