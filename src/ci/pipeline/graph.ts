// The `needs` graph between jobs. Only edges to jobs in the list count: parsePipeline has already refused
// needs that name no job.
import { PipelineCycleError } from "../errors.js";

export interface GraphJob {
  readonly name: string;
  readonly needs: readonly string[];
}

/**
 * A cycle of needs, as job names with the first repeated at the end (`build -> test -> build` is
 * `["build", "test", "build"]`: build needs test, test needs build), starting at the member that comes
 * first in the list; undefined when there is none. The first cycle found searching in list order.
 */
export function findCycle(jobs: readonly GraphJob[]): string[] | undefined {
  const byName = new Map(jobs.map((job) => [job.name, job]));
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];

  const visit = (name: string): string[] | undefined => {
    state.set(name, "open");
    stack.push(name);
    for (const need of byName.get(name)!.needs) {
      if (!byName.has(need)) continue;
      const seen = state.get(need);
      if (seen === "open") return stack.slice(stack.indexOf(need));
      if (seen === undefined) {
        const cycle = visit(need);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(name, "done");
    return undefined;
  };

  for (const job of jobs) {
    if (state.has(job.name)) continue;
    const cycle = visit(job.name);
    if (!cycle) continue;
    const position = new Map(jobs.map((j, i) => [j.name, i]));
    const first = cycle.reduce((best, name, i) => (position.get(name)! < position.get(cycle[best]!)! ? i : best), 0);
    const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
    return [...rotated, rotated[0]!];
  }
  return undefined;
}

/**
 * Job names in an order where every job comes after the jobs it needs; among jobs that are ready at the
 * same time, list order wins. Throws PipelineCycleError when the needs loop.
 */
export function topologicalOrder(jobs: readonly GraphJob[]): string[] {
  const names = new Set(jobs.map((job) => job.name));
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < jobs.length) {
    const ready = jobs.find((job) => !done.has(job.name) && job.needs.every((need) => done.has(need) || !names.has(need)));
    if (!ready) throw new PipelineCycleError(findCycle(jobs)!);
    done.add(ready.name);
    order.push(ready.name);
  }
  return order;
}
