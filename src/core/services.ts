// The services quire ships, by name only: the broker launches one backend process per service on first
// need and never loads a service's code (so quired never loads node-pty). Adding a service is one line
// here and one in src/backend/services/index.ts.

export const SERVICE_NAMES = ["echo", "pty", "ci", "web"] as const satisfies readonly string[];

export type ServiceName = (typeof SERVICE_NAMES)[number];

// The ci backend forks a PTY per step, and a fork copies the parent's page tables, so its resident memory
// is paid for on every step. Its live heap stays near 14 MB, but V8 let the old space grow to three or four
// times that between mark-compacts (49.8 -> 14.1 MB in one), so resident memory climbed run after run:
// a growth factor of 1.5 and 1 MiB semi-spaces (16 by default) keep it near the live heap, for a few more
// collections of a small heap.
const BACKEND_NODE_FLAGS: Partial<Record<ServiceName, readonly string[]>> = {
  ci: ["--max-semi-space-size=1", "--heap-growing-percent=50"],
};

/** Node flags a service's backend is started with, after quired's own (a `--cpu-prof` given to quired, say). */
export function backendNodeFlags(service: string): readonly string[] {
  return BACKEND_NODE_FLAGS[service as ServiceName] ?? [];
}
