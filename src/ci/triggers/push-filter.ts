// Whether a push would make GitHub run a workflow: its `on` (as the workflow writes it, kept in the
// Pipeline) read for `push` and `pull_request`, with their branch, tag and path filters, the way GitHub's
// "Events that trigger workflows" and "Workflow syntax" pages say. A git hook asks this before it submits
// a workflow: a push that GitHub would not run it for does not run it here either.
import { compilePattern, selects, type FilterPattern } from "./filter-pattern.js";

/** A push as a hook sees it. */
export interface PushEvent {
  /** The ref pushed to: `refs/heads/NAME` or `refs/tags/NAME`. */
  ref: string;
  /** The files the push changes, relative to the repository's root with `/`; null when not known (path filters then let it through). */
  paths: readonly string[] | null;
  /** The branch a pull request of the pushed branch would go into (the remote's default branch); null when not known. */
  baseBranch: string | null;
}

/** The answer, with a sentence saying why (for the hook's log). */
export interface TriggerDecision {
  runs: boolean;
  reason: string;
}

type Filters = Record<string, unknown>;

export function pushTriggers(on: unknown, event: PushEvent): TriggerDecision {
  const events = eventsOf(on);
  if (events === undefined) return { runs: false, reason: "its `on` is not an event, a list of events or a mapping of them" };
  const push = events.get("push");
  const pull = events.get("pull_request");
  if (push === undefined && pull === undefined) return { runs: false, reason: "it runs on neither push nor pull_request" };
  const decisions: TriggerDecision[] = [];
  if (push !== undefined) decisions.push(onPush(push, event));
  if (pull !== undefined) decisions.push(onPullRequest(pull, event));
  return decisions.find((d) => d.runs) ?? { runs: false, reason: decisions.map((d) => d.reason).join("; ") };
}

/** `on` as a map from event name to its filters ({} for none); undefined when it is none of GitHub's three forms. */
function eventsOf(on: unknown): Map<string, Filters> | undefined {
  if (typeof on === "string") return new Map([[on, {}]]);
  if (Array.isArray(on)) return on.every((e) => typeof e === "string") ? new Map(on.map((e: string) => [e, {}])) : undefined;
  if (on === null || typeof on !== "object") return undefined;
  const events = new Map<string, Filters>();
  for (const [name, filters] of Object.entries(on)) {
    events.set(name, filters !== null && typeof filters === "object" && !Array.isArray(filters) ? (filters as Filters) : {});
  }
  return events;
}

function onPush(filters: Filters, event: PushEvent): TriggerDecision {
  const tag = tagName(event.ref);
  const branch = branchName(event.ref);
  const branches = pair(filters, "branches");
  const tags = pair(filters, "tags");
  for (const p of [branches, tags, pair(filters, "paths")]) if (p.both) return { runs: false, reason: `on.push: ${p.both}` };
  if (tag !== undefined) {
    // Path filters are not evaluated for tags; with only branch filters, no tag runs it.
    if (tags.some) return refDecision("on.push", "tag", tag, tags);
    if (branches.some) return { runs: false, reason: `on.push filters branches only, and ${tag} is a tag` };
    return { runs: true, reason: `on.push takes every tag (${tag})` };
  }
  if (branch === undefined) return { runs: false, reason: `${event.ref} is neither a branch nor a tag` };
  let decision: TriggerDecision;
  if (branches.some) decision = refDecision("on.push", "branch", branch, branches);
  else if (tags.some) return { runs: false, reason: `on.push filters tags only, and ${branch} is a branch` };
  else decision = { runs: true, reason: `on.push takes every branch (${branch})` };
  return decision.runs ? pathDecision("on.push", filters, event.paths, decision) : decision;
}

function onPullRequest(filters: Filters, event: PushEvent): TriggerDecision {
  const branch = branchName(event.ref);
  if (branch === undefined) return { runs: false, reason: "on.pull_request: a pushed tag opens no pull request" };
  const types = list(filters.types);
  // A push opens a pull request, or updates ("synchronize") the one open; GitHub's default types include both.
  if (types !== undefined && !types.some((t) => t === "opened" || t === "synchronize" || t === "reopened")) {
    return { runs: false, reason: `on.pull_request runs for types ${types.join(", ")}, none of which a push makes` };
  }
  const base = event.baseBranch;
  if (base === branch) return { runs: false, reason: `on.pull_request: ${branch} is the branch pull requests go into, not one of theirs` };
  const branches = pair(filters, "branches");
  for (const p of [branches, pair(filters, "paths")]) if (p.both) return { runs: false, reason: `on.pull_request: ${p.both}` };
  let decision: TriggerDecision = { runs: true, reason: `on.pull_request takes a pull request of ${branch}` };
  if (branches.some) {
    // Its branch filters name the branch a pull request goes into, not the pushed one.
    if (base === null)
      return {
        runs: false,
        reason: "on.pull_request filters the branch a pull request goes into, and the remote's default branch is not known here",
      };
    decision = refDecision("on.pull_request", "base branch", base, branches);
    if (decision.runs) decision = { runs: true, reason: `${decision.reason}, for a pull request of ${branch}` };
  }
  return decision.runs ? pathDecision("on.pull_request", filters, event.paths, decision) : decision;
}

/** A filter and its `-ignore` twin: `some` when either is given, `both` (a complaint) when both are. */
interface FilterPair {
  some: boolean;
  both: string | undefined;
  keep: FilterPattern[] | undefined;
  ignore: FilterPattern[] | undefined;
}

function pair(filters: Filters, name: string): FilterPair {
  const keep = list(filters[name])?.map(compilePattern);
  const ignore = list(filters[`${name}-ignore`])?.map(compilePattern);
  const both = keep && ignore ? `${name} and ${name}-ignore cannot both be given for one event (GitHub refuses the workflow)` : undefined;
  return { some: keep !== undefined || ignore !== undefined, both, keep, ignore };
}

function refDecision(where: string, kind: string, name: string, filter: FilterPair): TriggerDecision {
  if (filter.keep) {
    return selects(filter.keep, name)
      ? { runs: true, reason: `${where} takes ${kind} ${name}` }
      : { runs: false, reason: `${where}'s ${kind === "tag" ? "tags" : "branches"} do not take ${kind} ${name}` };
  }
  return selects(filter.ignore!, name)
    ? { runs: false, reason: `${where} ignores ${kind} ${name}` }
    : { runs: true, reason: `${where} takes ${kind} ${name} (not ignored)` };
}

function pathDecision(where: string, filters: Filters, paths: readonly string[] | null, decision: TriggerDecision): TriggerDecision {
  const filter = pair(filters, "paths");
  if (!filter.some) return decision;
  if (paths === null)
    return { runs: true, reason: `${decision.reason}; the changed files are not known, so its path filters are not applied` };
  if (filter.keep) {
    const hit = paths.find((path) => selects(filter.keep!, path));
    return hit !== undefined
      ? { runs: true, reason: `${decision.reason}, and its paths take ${hit}` }
      : { runs: false, reason: `${where}'s paths take none of the ${paths.length} changed file${paths.length === 1 ? "" : "s"}` };
  }
  const kept = paths.find((path) => !selects(filter.ignore!, path));
  return kept !== undefined
    ? { runs: true, reason: `${decision.reason}, and ${kept} is not in its paths-ignore` }
    : { runs: false, reason: `${where}'s paths-ignore covers every changed file (${paths.length})` };
}

/** A filter's patterns: a list of strings, or one string; undefined when absent. */
function list(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.map(String);
  return [String(value)];
}

function branchName(ref: string): string | undefined {
  return ref.startsWith("refs/heads/") ? ref.slice("refs/heads/".length) : undefined;
}

function tagName(ref: string): string | undefined {
  return ref.startsWith("refs/tags/") ? ref.slice("refs/tags/".length) : undefined;
}
