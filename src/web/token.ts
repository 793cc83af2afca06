// The runs page's token: 32 random bytes, kept in QUIRE_HOME (web.token, 0600) so that a page opened before
// the web backend restarted still gets in. A file anyone else could read, or that holds anything else, is
// replaced.
import { randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs";

const TOKEN = /^[0-9a-f]{64}$/;

export function pageToken(path: string): string {
  const stat = statSync(path, { throwIfNoEntry: false });
  const mine = process.platform === "win32" || (stat !== undefined && (stat.mode & 0o077) === 0 && stat.uid === process.getuid?.());
  if (stat?.isFile() && mine) {
    const text = readFileSync(path, "utf8").trim();
    if (TOKEN.test(text)) return text;
  }
  const token = randomBytes(32).toString("hex");
  const aside = `${path}.${process.pid}.tmp`;
  writeFileSync(aside, `${token}\n`, { mode: 0o600, flag: "wx" });
  renameSync(aside, path);
  return token;
}

/**
 * Compares in constant time: how long a wrong guess takes says nothing about the token. The bytes are
 * compared, not the characters: a guess of as many characters, some not ASCII, is longer in bytes.
 */
export function sameToken(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const bytes = Buffer.from(given);
  const expected = Buffer.from(token);
  return bytes.length === expected.length && timingSafeEqual(bytes, expected);
}
