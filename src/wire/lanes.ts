// The lane registry: every payload_protocol id quire speaks, each allocated once.
import { LaneDuplicateError } from "./errors.js";

export const Lane = {
  /** Hello / HelloReply. */
  CONTROL: 0x0000,
  /** Broker administration: status, health, metrics, shutdown. */
  ADMIN: 0xad01,
  /** A backend says which service it is. */
  IDENTITY: 0xb232,
  /** Handoff offers and the ready event. */
  HANDOFF: 0xd0ff,
  /** The echo service's lane (echo answers on any non-control lane). */
  ECHO: 0xec00,
  CI: 0xc100,
  PTY: 0xf700,
  /** The runs page's service: where the page is served (quirectl ui). */
  WEB: 0xeb00,
} as const;

export type LaneId = (typeof Lane)[keyof typeof Lane];

const names = new Map<number, string>();
for (const [name, id] of Object.entries(Lane)) {
  if (names.has(id)) throw new LaneDuplicateError(id, names.get(id)!, name);
  names.set(id, name.toLowerCase());
}

export function isKnownLane(id: number): boolean {
  return names.has(id);
}

export function laneName(id: number): string {
  return names.get(id) ?? `0x${id.toString(16).padStart(4, "0")}`;
}
