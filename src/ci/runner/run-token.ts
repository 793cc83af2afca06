// A step's token (QUIRE_RUN_TOKEN) lets that step call back (quirectl annotate) for its own run, job
// and step, and nothing else: minted as the step starts, redacted from its output like a secret, stored
// only as a hash, which the store drops as the step ends.
import { createHash, randomBytes } from "node:crypto";

export function mintRunToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString("hex");
  return { token, hash: hashRunToken(token) };
}

export function hashRunToken(token: string | Buffer): Buffer {
  return createHash("sha256")
    .update(typeof token === "string" ? token.trim() : token)
    .digest();
}
