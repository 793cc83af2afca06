/**
 * Where a step's log lives, relative to the home's logs/ directory: `<run>/<job>/<attempt>-<index>.log`.
 * The store owns the layout because it names the logs of a retry's new attempt itself.
 * A quire.yml job name (`[A-Za-z0-9_-]+`) is the segment as it is; a workflow's leg name
 * (`test (20, ubuntu-latest)`, a matrix value may hold `/`) is percent-encoded into one.
 */
export function stepLogPath(runId: number, job: string, attempt: number, index: number): string {
  return `${runId}/${encodeURIComponent(job)}/${attempt}-${index}.log`;
}
