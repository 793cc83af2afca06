// How times, durations and commits read on the page.
import type { RunSummary } from "./types.js";

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** How long something took, or has taken so far; empty before it started. */
export function elapsed(item: { startedAt: number | null; finishedAt: number | null }, now = Date.now()): string {
  if (item.startedAt === null) return "";
  return duration((item.finishedAt ?? now) - item.startedAt);
}

export function ago(ms: number | null, now = Date.now()): string {
  if (ms === null) return "";
  const s = Math.round((now - ms) / 1000);
  if (s < 60) return "just now";
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ms).toISOString().slice(0, 10);
}

export function shortCommit(run: RunSummary): string {
  return run.commit ? run.commit.slice(0, 10) : "";
}

/** The last part of a repository's path, the way people name it. */
export function repoName(repo: string): string {
  return repo.replace(/\/+$/, "").split("/").pop() || repo;
}

export const LIVE_STATES = new Set(["pending", "active"]);
