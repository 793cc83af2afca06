// A workflow job as the runner runs it: each leg of its matrix a job of its own, named as GitHub names
// it, with its runs-on labels and step names evaluated where the contexts they use are known. The reader
// does this for what is known when the file is read (the matrix values, strategy, vars, the inputs'
// defaults); the runner does the rest once the job is ready, its needs ended (resolveReadyJob): a matrix
// computed by an expression becomes its legs then, and a name that uses `github` or `needs` is evaluated.
import { checkTemplate, evaluateTemplate, evaluateValue, hasExpression, type ContextName, type Scope } from "../expressions/template.js";
import type { Job, MatrixTemplate, Pipeline, Template } from "../pipeline/model.js";
import { PIPELINE_LIMITS } from "../rules.js";
import { expandMatrix, legName, matrixInput, type MatrixValues } from "./matrix.js";

/** The contexts known when a workflow is read: a name that uses only these is evaluated then. */
export const READ_CONTEXTS: ContextName[] = ["matrix", "strategy", "vars", "inputs"];
/** What a job's name and matrix may use, known once the job is ready. */
const READY_CONTEXTS: ContextName[] = ["github", "needs", "matrix", "strategy", "vars", "inputs"];

const MATRIX_CONTEXTS: ContextName[] = ["matrix", "strategy"];
const OTHER_OS = /^(windows|macos)(-|$)/i;

/** The `strategy` context of a leg (empty for a job without a matrix). */
export function strategyContext(strategy: Job["strategy"]): Record<string, unknown> {
  if (!strategy) return {};
  return {
    "fail-fast": strategy.failFast,
    "job-index": strategy.index,
    "job-total": strategy.total,
    "max-parallel": strategy.maxParallel ?? strategy.total,
  };
}

/** A workflow's `inputs` context for a run asked for by hand: the default of each `workflow_dispatch` or `workflow_call` input. */
export function workflowInputs(on: unknown): Record<string, unknown> {
  const inputs: Record<string, unknown> = {};
  if (on === null || typeof on !== "object" || Array.isArray(on)) return inputs;
  for (const trigger of ["workflow_call", "workflow_dispatch"]) {
    const declared = (on as Record<string, { inputs?: unknown } | null>)[trigger]?.inputs;
    if (declared === null || typeof declared !== "object") continue;
    for (const [name, input] of Object.entries(declared as Record<string, unknown>)) {
      if (input !== null && typeof input === "object" && "default" in input) inputs[name] = (input as { default: unknown }).default;
    }
  }
  return inputs;
}

/**
 * The job of one leg (matrix null: the job without a matrix), from the job as read (`base`: named by its
 * id, its labels and step names as written): its name (its `name:` evaluated, else GitHub's `test (20,
 * ubuntu-latest)`), labels and step names evaluated with `contexts` where they use only `available`. A name
 * that uses more is left in `deferred`, and the job is named by its id (and matrix values) until then.
 */
export function legOf(
  base: Job,
  displayName: Template,
  matrix: MatrixValues | null,
  strategy: Job["strategy"],
  contexts: Scope["contexts"],
  available: readonly ContextName[],
): Job {
  const scope: Scope = { contexts: { ...contexts, matrix: matrix ?? {}, strategy: strategyContext(strategy) } };
  const evaluated = (text: string, may = available): string | undefined => {
    if (!hasExpression(text)) return text;
    if (checkTemplate(text, may).length > 0) return undefined;
    try {
      return evaluateTemplate(text, scope);
    } catch {
      return undefined; // evaluated again when the step starts, which says why it cannot be
    }
  };
  const named = hasExpression(displayName) ? evaluated(displayName) : undefined;
  const written = hasExpression(displayName) ? base.group : displayName;
  const name = named ? named : matrix ? legName(written, matrix) : written;
  const runsOn = base.runsOn.map((label) => (hasExpression(label) ? String(evaluateValue(label, scope)) : label));
  const other = runsOn.find((label) => OTHER_OS.test(label));
  return {
    ...base,
    name,
    steps: base.steps.map((step) => {
      // A name made of the step's `run` shows a leg's matrix values, and is otherwise as written.
      const named = step.namedByExpression ? evaluated(step.name) : matrix ? evaluated(step.name, MATRIX_CONTEXTS) : undefined;
      return named === undefined ? step : { ...step, name: named, namedByExpression: false };
    }),
    matrix,
    strategy,
    runsOn,
    skipReason: other && process.platform === "linux" ? `runs-on ${other}: this machine runs Linux` : null,
    deferred: hasExpression(displayName) && named === undefined ? { matrix: null, name: displayName } : null,
  };
}

/**
 * What a job read with `deferred` set becomes once it is ready (its needs ended): the jobs that replace it
 * (its matrix's legs, or itself with its name), or why it cannot run (a matrix that is not a mapping of
 * lists, has no legs or too many, a leg named like another job).
 */
export function resolveReadyJob(
  job: Job,
  pipeline: Pipeline,
  contexts: Pick<Scope["contexts"], "github" | "needs">,
): Job[] | { problem: string } {
  const { deferred } = job;
  if (!deferred) return [job];
  const all: Scope["contexts"] = { ...contexts, vars: {}, inputs: workflowInputs(pipeline.on) };
  const displayName = deferred.name ?? job.name;
  const base: Job = { ...job, name: job.group, deferred: null };
  if (deferred.matrix === null) return [{ ...legOf(base, displayName, job.matrix, job.strategy, all, READY_CONTEXTS), deferred: null }];
  let value: unknown;
  try {
    value = evaluateMatrix(deferred.matrix, { contexts: all });
  } catch (error) {
    return { problem: `its matrix could not be evaluated: ${(error as Error).message}` };
  }
  const input = matrixInput(value);
  if (typeof input === "string") return { problem: input };
  const legs = expandMatrix(input);
  if (legs.length === 0) return { problem: "the matrix has no legs: its lists are empty, or `exclude` removed every combination" };
  if (legs.length > PIPELINE_LIMITS.matrixLegs)
    return { problem: `the matrix has ${legs.length} legs; a matrix has at most ${PIPELINE_LIMITS.matrixLegs}, as on GitHub` };
  const jobs = legs.map((matrix, index) => ({
    ...legOf(base, displayName, matrix, { ...job.strategy!, index, total: legs.length }, all, READY_CONTEXTS),
    deferred: null,
  }));
  const taken = new Set(pipeline.jobs.filter((other) => other.name !== job.name).map((other) => other.name));
  for (const leg of jobs) {
    if (taken.has(leg.name)) return { problem: `two jobs would both be named \`${leg.name}\`; give the legs different values` };
    taken.add(leg.name);
  }
  return jobs;
}

/** The pipeline with job `name` replaced by `jobs`, in its place; the jobs that needed it need them all. */
export function withJobReplaced(pipeline: Pipeline, name: string, jobs: readonly Job[]): Pipeline {
  const names = jobs.map((job) => job.name);
  return {
    ...pipeline,
    jobs: pipeline.jobs.flatMap((job) => {
      if (job.name === name) return jobs;
      return job.needs.includes(name) ? [{ ...job, needs: job.needs.flatMap((need) => (need === name ? names : [need])) }] : [job];
    }),
  };
}

function evaluateMatrix(template: MatrixTemplate, scope: Scope): unknown {
  if (typeof template === "string") return evaluateValue(template, scope);
  return Object.fromEntries(
    Object.entries(template).map(([key, value]) => [
      key,
      typeof value === "string" && hasExpression(value) ? evaluateValue(value, scope) : value,
    ]),
  );
}
