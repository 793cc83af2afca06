// The HelloReply carrying a Negotiated, encoded by hand: every Hello is answered with one, and the
// generated encoder (a BinaryWriter, a fork for the nested message, bigint checks) cost more than the
// rest of the answer's encoding. What is the same for every answer of one backend (protocol, version,
// pipe, capabilities) is encoded once; the token and connection id are appended. The bytes are the
// generated encoder's (test/core/negotiated-bytes.test.ts holds the two equal).
import { HelloReply, type Negotiated } from "../gen/quire/v1/hello.js";

/** Encoded fields 1-6 of a Negotiated, by what they are made of. */
const prefixes = new Map<string, Buffer>();
const MAX_PREFIXES = 64;

/** HelloReply { negotiated } as bytes. */
export function encodeNegotiatedReply(n: Negotiated): Uint8Array {
  const caps = BigInt.asUintN(64, n.serverCapabilities);
  const id = BigInt.asUintN(64, n.connectionId);
  // Out-of-range values and warnings: the generated encoder says what it does with them.
  if (
    n.warnings.length > 0 ||
    caps !== n.serverCapabilities ||
    id !== n.connectionId ||
    !isUint32(n.negotiatedProtocol) ||
    !isUint32(n.keepaliveIntervalSecs)
  )
    return HelloReply.encode({ negotiated: n }).finish();
  const prefix = prefixFor(n);
  const token = n.handlePassedToken;
  const tokenBytes = token.length === 0 ? 0 : 1 + varintLength(BigInt(token.length)) + token.length;
  const idBytes = id === 0n ? 0 : 1 + varintLength(id);
  const inner = prefix.length + tokenBytes + idBytes;
  const out = Buffer.allocUnsafe(1 + varintLength(BigInt(inner)) + inner);
  out[0] = 0x0a;
  let at = writeVarint(out, 1, BigInt(inner));
  at += prefix.copy(out, at);
  if (token.length > 0) {
    out[at] = 0x3a;
    at = writeVarint(out, at + 1, BigInt(token.length));
    out.set(token, at);
    at += token.length;
  }
  if (id !== 0n) {
    out[at] = 0x40;
    writeVarint(out, at + 1, id);
  }
  return out;
}

function prefixFor(n: Negotiated): Buffer {
  const key = `${n.negotiatedProtocol}\u0000${n.serverCapabilities}\u0000${n.keepaliveIntervalSecs}\u0000${n.daemonVersion}\u0000${n.backendPipe}`;
  let prefix = prefixes.get(key);
  if (prefix) return prefix;
  const parts: Buffer[] = [];
  const varintField = (tag: number, value: bigint) => {
    const b = Buffer.allocUnsafe(1 + varintLength(value));
    b[0] = tag;
    writeVarint(b, 1, value);
    parts.push(b);
  };
  const stringField = (tag: number, value: string) => {
    const bytes = Buffer.from(value, "utf8");
    varintField(tag, BigInt(bytes.length));
    parts.push(bytes);
  };
  if (n.negotiatedProtocol !== 0) varintField(0x08, BigInt(n.negotiatedProtocol));
  if (n.daemonVersion !== "") stringField(0x12, n.daemonVersion);
  if (n.backendPipe !== "") stringField(0x1a, n.backendPipe);
  if (n.serverCapabilities !== 0n) varintField(0x28, n.serverCapabilities);
  if (n.keepaliveIntervalSecs !== 0) varintField(0x30, BigInt(n.keepaliveIntervalSecs));
  prefix = Buffer.concat(parts);
  if (prefixes.size >= MAX_PREFIXES) prefixes.clear();
  prefixes.set(key, prefix);
  return prefix;
}

function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function varintLength(value: bigint): number {
  let n = 1;
  for (let v = value >> 7n; v > 0n; v >>= 7n) n++;
  return n;
}

/** Writes `value` as a varint at `at`; returns the position after it. */
function writeVarint(out: Buffer, at: number, value: bigint): number {
  let v = value;
  while (v >= 0x80n) {
    out[at++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  out[at++] = Number(v);
  return at;
}
