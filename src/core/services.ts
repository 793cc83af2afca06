// The services quire ships, by name only: the broker launches one backend process per service on first
// need and never loads a service's code (so quired never loads node-pty). Adding a service is one line
// here and one in src/backend/services/index.ts.

export const SERVICE_NAMES = ["echo", "pty", "ci", "web"] as const satisfies readonly string[];

export type ServiceName = (typeof SERVICE_NAMES)[number];
