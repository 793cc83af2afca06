// The `needs` graph between jobs. Only edges to jobs in the list count: parsePipeline has already refused
// needs that name no job.

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
  // A depth-first search with its own stack (a chain of thousands of needs would overflow the call
  // stack): each frame is a job on the current path and the index of the next need to look at.
  const path: string[] = [];
  const next: number[] = [];
  const onPath = new Map<string, number>(); // name -> index in `path`

  const search = (root: string): string[] | undefined => {
    state.set(root, "open");
    onPath.set(root, 0);
    path.push(root);
    next.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const needs = byName.get(path[top]!)!.needs;
      const i = next[top]!;
      if (i === needs.length) {
        state.set(path[top]!, "done");
        onPath.delete(path[top]!);
        path.pop();
        next.pop();
        continue;
      }
      next[top] = i + 1;
      const need = needs[i]!;
      if (!byName.has(need)) continue;
      const seen = state.get(need);
      if (seen === "open") return path.slice(onPath.get(need)!);
      if (seen === undefined) {
        state.set(need, "open");
        onPath.set(need, path.length);
        path.push(need);
        next.push(0);
      }
    }
    return undefined;
  };

  for (const job of jobs) {
    if (state.has(job.name)) continue;
    const cycle = search(job.name);
    if (!cycle) continue;
    const position = new Map(jobs.map((j, i) => [j.name, i]));
    const first = cycle.reduce((best, name, i) => (position.get(name)! < position.get(cycle[best]!)! ? i : best), 0);
    const rotated = [...cycle.slice(first), ...cycle.slice(0, first)];
    return [...rotated, rotated[0]!];
  }
  return undefined;
}
