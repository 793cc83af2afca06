// The control channel between broker and backend: Node's child_process IPC channel, JSON lines, with
// bytes as base64 strings (`Bytes`). On Unix it also carries the handed-off socket (SCM_RIGHTS). Not the
// 'advanced' serialization: V8's serializer cost 25-45 µs a message here and its deserializer 13-25 µs,
// JSON 2-3 µs each, and an offer crosses on the path of every handoff.
import type { MetricFamily } from "./metrics.js";

/** Bytes on the channel: base64. */
export type Bytes = string;

export function toBytes(bytes: Uint8Array): Bytes {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

export function fromBytes(bytes: Bytes): Buffer {
  return Buffer.from(typeof bytes === "string" ? bytes : "", "base64");
}
/** Broker -> backend. */
export type BrokerMessage =
  /** The answer to want-key: the key this launch's tokens are sealed with (TokenSealer). */
  | { t: "key"; key: Bytes }
  /** Adopt the socket sent with this message. `offer` is an encoded HandoffOffer; `pending` the bytes the broker read past the Hello. */
  | { t: "offer"; offer: Bytes; pending: Bytes; deadline: number }
  /** Stop accepting, let work finish (at most graceMs), close clients, exit 0. */
  | { t: "drain"; graceMs: number }
  /** Liveness: answer pong with the same seq at once. A backend that does not is killed and respawned. */
  | { t: "ping"; seq: number }
  /** Report your metric families now (the broker renders them under your service label); answer metrics with the same seq. */
  | { t: "metrics"; seq: number }
  /** Is your service idle (no work a stop would lose: no pty sessions, no live runs)? Answer idle with the same seq. */
  | { t: "idle"; seq: number };

/** Backend -> broker. */
export type BackendMessage =
  /** The backend listens on the channel and asks for its token key; it says ready only once it has it. */
  | { t: "want-key" }
  | { t: "ready"; socket: string }
  /** An encoded HandoffAck answering an offer. */
  | { t: "ack"; ack: Bytes }
  /** The token minted for handshake `id` was consumed by a reconnect. */
  | { t: "token-used"; id: number }
  | { t: "clients"; count: number }
  /** The backend could not start its service and is exiting; `error` says why, for status and the refusal. */
  | { t: "failed"; error: string }
  | { t: "pong"; seq: number }
  | { t: "metrics"; seq: number; families: MetricFamily[] }
  /** `idle` false: the service has work (why says what); the broker leaves it running. */
  | { t: "idle"; seq: number; idle: boolean; why: string };

/** Messages on the channel are objects tagged by `t`; anything else is ignored. */
export function isControlMessage(value: unknown): value is { t: string } {
  return typeof value === "object" && value !== null && typeof (value as { t?: unknown }).t === "string";
}
