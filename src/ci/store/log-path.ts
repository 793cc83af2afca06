/**
 * Where a step's log lives, relative to the home's logs/ directory: `<run>/<job>/<attempt>-<index>.log`.
 * The store owns the layout because it names the logs of a retry's new attempt itself.
 * Job names are `[A-Za-z0-9_-]+` (the pipeline parser checks), so they are safe as one path segment.
 */
export function stepLogPath(runId: number, job: string, attempt: number, index: number): string {
  return `${runId}/${job}/${attempt}-${index}.log`;
}
