// A run's token lets its own steps call back (quirectl annotate) and nothing else. Only its hash is
// stored, and the store drops that when the run ends.
import { createHash, randomBytes } from "node:crypto";

export function mintRunToken(): { token: string; hash: Buffer } {
  const token = randomBytes(32).toString("hex");
  return { token, hash: hashRunToken(token) };
}

export function hashRunToken(token: string | Buffer): Buffer {
  return createHash("sha256").update(typeof token === "string" ? token.trim() : token).digest();
}
