// `quirectl run --job NAME --matrix key=value`: the part of a pipeline a person asked for, with
// everything it needs. A job is named by its name or, for a workflow's matrix, its job id (every leg);
// --matrix keeps the legs of the named jobs whose values match.
import { PipelineError } from "../errors.js";
import type { Pipeline } from "./model.js";

export interface JobSelection {
  /** Job names or workflow job ids; empty: every job. */
  jobs: readonly string[];
  /** key=value pairs a leg's matrix must hold (compared as text); empty: every leg. */
  matrix: Readonly<Record<string, string>>;
}

/** The pipeline cut down to the selection and what it needs; a name that matches nothing is refused. */
export function selectJobs(pipeline: Pipeline, selection: JobSelection): Pipeline {
  const { jobs, matrix } = selection;
  if (jobs.length === 0 && Object.keys(matrix).length === 0) return pipeline;
  const named = (job: Pipeline["jobs"][number]) => jobs.length === 0 || jobs.includes(job.name) || jobs.includes(job.group);
  const matches = (job: Pipeline["jobs"][number]) =>
    Object.entries(matrix).every(([key, value]) => job.matrix !== null && key in job.matrix && String(job.matrix[key]) === value);
  for (const name of jobs) {
    if (!pipeline.jobs.some((job) => job.name === name || job.group === name)) {
      throw new PipelineError(
        { file: pipeline.file, field: "--job" },
        `no job \`${name}\` in this pipeline`,
        `jobs: ${[...new Set(pipeline.jobs.map((j) => j.group))].join(", ")}`,
      );
    }
  }
  const chosen = pipeline.jobs.filter((job) => named(job) && (Object.keys(matrix).length === 0 || matches(job)));
  if (chosen.length === 0) {
    // A matrix computed by an expression has no legs until its job is ready.
    const computed = pipeline.jobs.find((job) => named(job) && job.deferred?.matrix != null);
    throw new PipelineError(
      { file: pipeline.file, field: "--matrix" },
      "no matrix leg of the jobs named has those values",
      computed
        ? `the matrix of \`${computed.group}\` is computed when the job is ready, so its legs cannot be picked before: leave out --matrix`
        : "name values a leg has, e.g. --matrix node=20",
    );
  }
  const keep = new Set<string>();
  const byName = new Map(pipeline.jobs.map((job) => [job.name, job]));
  const add = (name: string) => {
    if (keep.has(name)) return;
    keep.add(name);
    for (const need of byName.get(name)?.needs ?? []) add(need);
  };
  for (const job of chosen) add(job.name);
  return { ...pipeline, jobs: pipeline.jobs.filter((job) => keep.has(job.name)) };
}
