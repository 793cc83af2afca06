// Reading a GitHub Actions workflow file into quire's pipeline model (README.md, "Your GitHub
// workflows"). Everything quire cannot do is refused before the run starts, every finding at once, each
// at file:line:column with the key and why. Expressions are checked with GitHub's own grammar, against
// the contexts each key may use; they are evaluated when the run gets there.
import { isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from "yaml";
import { PipelineError, PipelineFindingsError } from "../errors.js";
import { type Concurrency, type Job, jobOf, type MatrixTemplate, type Pipeline, type Step } from "../pipeline/model.js";
import { describe, PipelineSource, scalarText, type ValueNode } from "../pipeline/source.js";
import { checkCondition, checkTemplate, hasExpression, type ContextName, type ExtraFunction } from "../expressions/template.js";
import { CACHE_PATH_RULE, cachePath, cachePathLines } from "../cache/paths.js";
import { ADAPTER_INPUTS, CACHE_ADAPTERS, resolveAction, type ActionAdapter } from "./actions.js";
import { PIPELINE_LIMITS } from "../rules.js";
import { legOf, READ_CONTEXTS, workflowInputs } from "./job-legs.js";
import { expandMatrix, matrixEntryProblem, type MatrixValues } from "./matrix.js";

const WORKFLOW_FIELDS = ["name", "run-name", "on", "env", "defaults", "concurrency", "permissions", "jobs"];
const JOB_FIELDS = [
  "name",
  "needs",
  "if",
  "runs-on",
  "env",
  "defaults",
  "timeout-minutes",
  "continue-on-error",
  "outputs",
  "strategy",
  "steps",
  "permissions",
  "concurrency",
  "environment",
  "services",
  "container",
  "uses",
  "with",
  "secrets",
];
const STEP_FIELDS = [
  "id",
  "name",
  "run",
  "uses",
  "with",
  "env",
  "if",
  "shell",
  "working-directory",
  "continue-on-error",
  "timeout-minutes",
];
const JOB_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const SHELLS = ["bash", "sh", "pwsh", "python"];

// The contexts each key may name, from GitHub's context-availability table.
const C = {
  workflow: ["github", "secrets", "inputs", "vars"],
  jobIf: ["github", "needs", "vars", "inputs"],
  strategy: ["github", "needs", "vars", "inputs"],
  concurrency: ["github", "vars", "inputs"],
  jobValue: ["github", "needs", "strategy", "matrix", "vars", "inputs"],
  jobEnv: ["github", "needs", "strategy", "matrix", "vars", "secrets", "inputs"],
  outputs: ["github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets", "steps", "inputs"],
  stepIf: ["github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "steps", "inputs"],
  step: ["github", "needs", "strategy", "matrix", "job", "runner", "env", "vars", "secrets", "steps", "inputs"],
} satisfies Record<string, ContextName[]>;
const STATUS: ExtraFunction[] = ["success", "failure", "always", "cancelled", "hashFiles"];

/** What a local action's action.yml says, read with positions like a workflow. */
export interface ActionDefinition {
  name: string;
  /** Input names with their defaults (templates; null: none), and which are required. */
  inputs: Record<string, { default: string | null; required: boolean }>;
  outputs: Record<string, string>;
  runs:
    | { using: "composite"; steps: Step[] }
    | { using: "node"; main: string; pre: string | null; post: string | null; preIf: string | null; postIf: string | null };
}

/** Parses an action.yml; throws a PipelineFindingsError listing every problem found. */
export function readAction(text: string, file: string): ActionDefinition {
  return new WorkflowReader(new PipelineSource(file, text)).action();
}

/** Parses a workflow file; throws a PipelineFindingsError listing every problem found. */
export function readWorkflow(text: string, file: string): Pipeline {
  return new WorkflowReader(new PipelineSource(file, text)).read();
}

class WorkflowReader {
  readonly #src: PipelineSource;
  readonly #findings: PipelineError[] = [];
  /** Where each `needs` entry is written (`job/need`), to point at a need that names no job. */
  readonly #needNodes = new Map<string, Node>();
  /** The workflow's `inputs` context as a run asked for by hand has it (their defaults), for names evaluated as it is read. */
  #inputs: Record<string, unknown> = {};

  constructor(src: PipelineSource) {
    this.#src = src;
  }

  read(): Pipeline {
    const root = this.#src.root();
    if (root === null) this.#src.fail(undefined, undefined, "the file holds no workflow", "a workflow is a mapping with `on` and `jobs`");
    if (!isMap(root)) this.#src.fail(root, undefined, `the top level is ${describe(root)}`, "a workflow is a mapping with `on` and `jobs`");
    const fields = this.#fields(root, "", WORKFLOW_FIELDS);
    const name =
      this.#try(() => (fields.has("name") ? this.#text(fields.get("name")!, "name") : undefined)) ??
      this.#src.file.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/, "");
    const env = this.#try(() => this.#env(fields.get("env"), "env", C.workflow)) ?? {};
    const defaults = this.#try(() => this.#defaults(fields.get("defaults"), "defaults", C.workflow)) ?? {};
    const concurrency = this.#try(() => this.#concurrency(fields.get("concurrency"), "concurrency", C.concurrency)) ?? null;
    const on = fields.has("on") ? this.#src.resolve(fields.get("on")!.value as Node, "on").toJSON() : null;
    this.#inputs = workflowInputs(on);
    if (!fields.has("on"))
      this.#find(root, "on", "missing", "a workflow says when it runs (`on: [push]`); quire records it and runs the workflow when asked");
    const jobsPair = fields.get("jobs");
    const jobs = jobsPair ? this.#jobs(jobsPair, defaults) : [];
    if (!jobsPair) this.#find(root, "jobs", "missing", "a workflow has `jobs`");
    if (this.#findings.length > 0) throw new PipelineFindingsError(this.#findings);
    for (const job of jobs) job.secrets = secretsNamed(JSON.stringify([env, job]));
    // A workflow has no such key: its job cache is shared where quire's configuration says (cache.remote-*).
    return { kind: "github", name, file: this.#src.file, env, jobs, on, concurrency, remoteCache: null };
  }

  action(): ActionDefinition {
    const root = this.#src.root();
    const shape = "an action.yml is a mapping with `name` and `runs` (`using: composite` with `steps`, or `using: node20` with `main`)";
    if (root === null || !isMap(root)) this.#src.fail(root ?? undefined, undefined, "the file holds no action", shape);
    const fields = this.#fields(root, "", ["name", "description", "author", "inputs", "outputs", "runs", "branding"]);
    const name = this.#try(() => (fields.has("name") ? this.#text(fields.get("name")!, "name", []) : undefined)) ?? this.#src.file;
    const inputs: ActionDefinition["inputs"] = {};
    const inputsPair = fields.get("inputs");
    if (inputsPair) {
      const map = this.#value(inputsPair, "inputs");
      if (!isMap(map)) this.#src.fail(this.#src.valueAt(inputsPair), "inputs", `got ${describe(map)}`, "expected a mapping of input names");
      for (const item of map.items) {
        const key = this.#src.keyName(item, "inputs.");
        const value = this.#value(item, `inputs.${key}`);
        const props = isMap(value)
          ? this.#fields(value, `inputs.${key}.`, ["description", "required", "default", "deprecationMessage"])
          : new Map<string, Pair>();
        const fallback = props.get("default");
        const required = props.get("required");
        inputs[key] = {
          default: fallback
            ? (this.#try(() => this.#text(fallback, `inputs.${key}.default`, ["github", "env", "runner", "job", "steps", "inputs"])) ??
              null)
            : null,
          required: required ? this.#boolean(required, `inputs.${key}.required`) : false,
        };
      }
    }
    const outputs: Record<string, string> = {};
    const outputsPair = fields.get("outputs");
    if (outputsPair) {
      const map = this.#value(outputsPair, "outputs");
      if (!isMap(map))
        this.#src.fail(this.#src.valueAt(outputsPair), "outputs", `got ${describe(map)}`, "expected a mapping of output names");
      for (const item of map.items) {
        const key = this.#src.keyName(item, "outputs.");
        const value = this.#value(item, `outputs.${key}`);
        const valuePair = isMap(value) ? this.#fields(value, `outputs.${key}.`, ["description", "value"]).get("value") : undefined;
        if (valuePair) outputs[key] = this.#try(() => this.#text(valuePair, `outputs.${key}.value`, C.outputs)) ?? "";
      }
    }
    const runsPair = fields.get("runs");
    if (!runsPair) this.#src.fail(root, "runs", "missing", shape);
    const runsMap = this.#value(runsPair, "runs");
    if (!isMap(runsMap)) this.#src.fail(this.#src.valueAt(runsPair), "runs", `got ${describe(runsMap)}`, shape);
    const runs = this.#fields(runsMap, "runs.", [
      "using",
      "steps",
      "main",
      "pre",
      "post",
      "pre-if",
      "post-if",
      "image",
      "args",
      "entrypoint",
      "env",
    ]);
    const usingPair = runs.get("using");
    if (!usingPair) this.#src.fail(runsMap, "runs.using", "missing", shape);
    const using = this.#text(usingPair, "runs.using", []);
    let result: ActionDefinition["runs"];
    if (using === "composite") {
      const steps = runs.get("steps");
      if (!steps) this.#src.fail(runsMap, "runs.steps", "missing", "a composite action has steps");
      result = { using: "composite", steps: this.#try(() => this.#steps(steps, "runs.steps", {})) ?? [] };
    } else if (/^node\d+$/.test(using)) {
      const main = runs.get("main");
      if (!main) this.#src.fail(runsMap, "runs.main", "missing", "a JavaScript action names its `main` script");
      const text = (key: string) => (runs.has(key) ? this.#text(runs.get(key)!, `runs.${key}`, []) : null);
      result = {
        using: "node",
        main: this.#text(main, "runs.main", []),
        pre: text("pre"),
        post: text("post"),
        preIf: text("pre-if"),
        postIf: text("post-if"),
      };
    } else {
      this.#src.fail(
        this.#src.valueAt(usingPair),
        "runs.using",
        `\`${using}\` actions are not run here`,
        "quire runs composite and JavaScript (node) actions; a docker action needs a container engine",
      );
    }
    if (this.#findings.length > 0) throw new PipelineFindingsError(this.#findings);
    return { name, inputs, outputs, runs: result };
  }

  /** Runs one check, keeping its finding and going on with the rest. */
  #try<T>(check: () => T): T | undefined {
    try {
      return check();
    } catch (error) {
      if (!(error instanceof PipelineError)) throw error;
      this.#findings.push(error);
      return undefined;
    }
  }

  #find(node: Node | null | undefined, field: string, problem: string, allowed: string): void {
    this.#try(() => this.#src.fail(node, field, problem, allowed));
  }

  #fields(map: YAMLMap, prefix: string, allowed: readonly string[]): Map<string, Pair> {
    const result = new Map<string, Pair>();
    for (const pair of map.items) {
      const name = this.#try(() => this.#src.keyName(pair, prefix));
      if (name === undefined) continue;
      if (!allowed.includes(name))
        this.#find(pair.key as Node, prefix + name, "not a key of a GitHub workflow here", `keys here: ${allowed.join(", ")}`);
      else result.set(name, pair);
    }
    return result;
  }

  #value(pair: Pair, field: string): ValueNode {
    return this.#src.resolve(pair.value as Node | null, field);
  }

  /** A scalar as text (numbers and booleans as written), its expressions checked against `contexts`. */
  #text(pair: Pair, field: string, contexts: ContextName[] = C.workflow, functions: ExtraFunction[] = []): string {
    const node = this.#value(pair, field);
    if (!isScalar(node) || node.value === null || typeof node.value === "object")
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(node)}`, "expected a string");
    const text = typeof node.value === "string" ? node.value : scalarText(node);
    if (text.includes("\0")) this.#src.fail(node, field, "contains a NUL character", "remove it");
    this.#checkExpressions(node, field, text, contexts, functions);
    return text;
  }

  #checkExpressions(node: Node, field: string, text: string, contexts: ContextName[], functions: ExtraFunction[]): void {
    for (const problem of checkTemplate(text, contexts, functions)) {
      this.#find(node, field, problem.message, `expressions here may use ${contexts.join(", ")}`);
    }
  }

  #condition(pair: Pair | undefined, field: string, contexts: ContextName[]): string | null {
    if (!pair) return null;
    const node = this.#value(pair, field);
    if (!isScalar(node) || node.value === null)
      this.#src.fail(
        this.#src.valueAt(pair),
        field,
        `got ${describe(node)}`,
        "expected an expression such as `github.ref == 'refs/heads/main'`",
      );
    const text = typeof node.value === "string" ? node.value : scalarText(node);
    for (const problem of checkCondition(text, contexts, STATUS))
      this.#find(
        node,
        field,
        problem.message,
        `a condition may use ${contexts.join(", ")} and success(), failure(), always(), cancelled()`,
      );
    return text;
  }

  #env(pair: Pair | undefined, field: string, contexts: ContextName[]): Record<string, string> {
    if (!pair) return {};
    const map = this.#value(pair, field);
    if (isScalar(map) && typeof map.value === "string" && hasExpression(map.value))
      this.#src.fail(map, field, "an `env` computed by one expression is not supported", "write the variables out as a mapping");
    if (!isMap(map))
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(map)}`, "expected a mapping of variable names to values");
    const env: Record<string, string> = {};
    for (const item of map.items) {
      const name = this.#try(() => this.#src.keyName(item, `${field}.`));
      if (name === undefined) continue;
      if (!ENV_NAME.test(name))
        this.#find(
          item.key as Node,
          `${field}.${name}`,
          "not a usable variable name",
          "names use letters, digits and `_`, not starting with a digit",
        );
      const value = this.#try(() => this.#text(item, `${field}.${name}`, contexts));
      if (value !== undefined) env[name] = value;
    }
    return env;
  }

  #defaults(pair: Pair | undefined, field: string, contexts: ContextName[]): { shell?: string; workingDirectory?: string } {
    if (!pair) return {};
    const map = this.#value(pair, field);
    if (!isMap(map))
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(map)}`, "expected `defaults: { run: { shell, working-directory } }`");
    const fields = this.#fields(map, `${field}.`, ["run"]);
    const run = fields.get("run");
    if (!run) return {};
    const runMap = this.#value(run, `${field}.run`);
    if (!isMap(runMap))
      this.#src.fail(
        this.#src.valueAt(run),
        `${field}.run`,
        `got ${describe(runMap)}`,
        "expected a mapping with `shell` and `working-directory`",
      );
    const runFields = this.#fields(runMap, `${field}.run.`, ["shell", "working-directory"]);
    const shell = runFields.get("shell");
    const dir = runFields.get("working-directory");
    return {
      ...(shell ? { shell: this.#shell(shell, `${field}.run.shell`, contexts) } : {}),
      ...(dir ? { workingDirectory: this.#text(dir, `${field}.run.working-directory`, contexts) } : {}),
    };
  }

  #shell(pair: Pair, field: string, contexts: ContextName[]): string {
    const shell = this.#text(pair, field, contexts);
    if (!SHELLS.includes(shell) && !shell.includes("{0}") && !hasExpression(shell)) {
      this.#src.fail(
        this.#src.valueAt(pair),
        field,
        `\`${shell}\` is not a shell quire knows`,
        `use ${SHELLS.join(", ")}, or a command with \`{0}\` where the script's path goes (\`perl {0}\`)`,
      );
    }
    return shell;
  }

  /** `concurrency: group` or `{ group, cancel-in-progress }`, where cancel-in-progress may be an expression. */
  #concurrency(pair: Pair | undefined, field: string, contexts: ContextName[]): Concurrency | null {
    if (!pair) return null;
    const node = this.#value(pair, field);
    if (isScalar(node)) return { group: this.#text(pair, field, contexts), cancelInProgress: false };
    if (!isMap(node)) this.#src.fail(node, field, `got ${describe(node)}`, "expected a group name or `{ group, cancel-in-progress }`");
    const fields = this.#fields(node, `${field}.`, ["group", "cancel-in-progress"]);
    const group = fields.get("group");
    if (!group) this.#src.fail(node, `${field}.group`, "missing", "name the group");
    const cancel = fields.get("cancel-in-progress");
    const cancelNode = cancel && this.#value(cancel, `${field}.cancel-in-progress`);
    return {
      group: this.#text(group, `${field}.group`, contexts),
      cancelInProgress: !cancel
        ? false
        : isScalar(cancelNode) && typeof cancelNode.value === "string" && hasExpression(cancelNode.value)
          ? this.#text(cancel, `${field}.cancel-in-progress`, contexts)
          : this.#boolean(cancel, `${field}.cancel-in-progress`),
    };
  }

  #boolean(pair: Pair, field: string): boolean {
    const node = this.#value(pair, field);
    if (!isScalar(node) || typeof node.value !== "boolean")
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(node)}`, "expected true or false");
    return node.value;
  }

  #jobs(pair: Pair, defaults: { shell?: string; workingDirectory?: string }): Job[] {
    const map = this.#value(pair, "jobs");
    if (!isMap(map) || map.items.length === 0)
      this.#src.fail(this.#src.valueAt(pair), "jobs", `got ${describe(map)}`, "expected a mapping of job ids to jobs");
    const read: { id: string; pair: Pair; legs: Job[] }[] = [];
    for (const jobPair of map.items) {
      const id = this.#try(() => this.#src.keyName(jobPair, "jobs."));
      if (id === undefined) continue;
      if (!JOB_ID.test(id))
        this.#find(
          jobPair.key as Node,
          `jobs.${id}`,
          "not a valid job id",
          "job ids start with a letter or `_` and hold letters, digits, `_` and `-`",
        );
      read.push({ id, pair: jobPair, legs: this.#try(() => this.#job(jobPair, id, defaults)) ?? [] });
    }
    // `needs` names job ids; a job needs every leg of the jobs it names.
    const legsOf = new Map(read.map((job) => [job.id, job.legs.map((leg) => leg.name)]));
    for (const job of read) {
      for (const leg of job.legs) {
        const named = leg.needs;
        for (const need of named) {
          if (!legsOf.has(need))
            this.#find(
              this.#needNodes.get(`${job.id}/${need}`),
              `jobs.${job.id}.needs`,
              `\`${need}\` is not a job of this workflow`,
              `jobs: ${[...legsOf.keys()].join(", ")}`,
            );
        }
        leg.needs = named.flatMap((need) => legsOf.get(need) ?? []);
      }
    }
    const jobs = read.flatMap((job) => job.legs);
    const names = new Set<string>();
    for (const job of jobs) {
      if (names.has(job.name))
        this.#find(map, "jobs", `two jobs are both named \`${job.name}\``, "give the jobs or their matrix legs different names");
      names.add(job.name);
    }
    return jobs;
  }

  #job(pair: Pair, id: string, workflowDefaults: { shell?: string; workingDirectory?: string }): Job[] {
    const prefix = `jobs.${id}`;
    const map = this.#value(pair, prefix);
    if (!isMap(map))
      this.#src.fail(this.#src.valueAt(pair), prefix, `got ${describe(map)}`, "expected a mapping with `runs-on` and `steps`");
    const fields = this.#fields(map, `${prefix}.`, JOB_FIELDS);
    for (const key of ["services", "container"]) {
      const p = fields.get(key);
      if (p)
        this.#find(
          p.key as Node,
          `${prefix}.${key}`,
          `\`${key}\` needs a container engine, and quire runs jobs on the host`,
          "remove it and run the service on the host, or run this job on GitHub",
        );
    }
    for (const key of ["uses", "with", "secrets"]) {
      const p = fields.get(key);
      if (p)
        this.#find(
          p.key as Node,
          `${prefix}.${key}`,
          "reusable workflows are not supported yet",
          "copy the called workflow's jobs into this one",
        );
    }
    const env = this.#try(() => this.#env(fields.get("env"), `${prefix}.env`, C.jobEnv)) ?? {};
    const defaults = {
      ...workflowDefaults,
      ...(this.#try(() => this.#defaults(fields.get("defaults"), `${prefix}.defaults`, C.jobValue)) ?? {}),
    };
    const condition = this.#try(() => this.#condition(fields.get("if"), `${prefix}.if`, C.jobIf)) ?? null;
    const needs = this.#try(() => this.#needs(fields.get("needs"), `${prefix}.needs`, id)) ?? [];
    const timeoutMs = this.#try(() => this.#minutes(fields.get("timeout-minutes"), `${prefix}.timeout-minutes`)) ?? 360 * 60_000;
    const continueOnError =
      this.#try(() =>
        fields.has("continue-on-error") ? this.#boolean(fields.get("continue-on-error")!, `${prefix}.continue-on-error`) : false,
      ) ?? false;
    const outputs = this.#try(() => this.#outputs(fields.get("outputs"), `${prefix}.outputs`)) ?? {};
    const concurrency = this.#try(() => this.#concurrency(fields.get("concurrency"), `${prefix}.concurrency`, C.jobValue)) ?? null;
    const displayName = this.#try(() => (fields.has("name") ? this.#text(fields.get("name")!, `${prefix}.name`, C.jobValue) : id)) ?? id;
    const runsOn = this.#try(() => this.#runsOn(fields.get("runs-on"), `${prefix}.runs-on`, map)) ?? [];
    const strategy = this.#try(() => this.#strategy(fields.get("strategy"), `${prefix}.strategy`)) ?? {
      legs: [null],
      failFast: true,
      maxParallel: null,
    };
    const stepsPair = fields.get("steps");
    if (!stepsPair) this.#find(pair.key as Node, `${prefix}.steps`, "missing", "a job has steps");
    const steps = stepsPair ? (this.#try(() => this.#steps(stepsPair, `${prefix}.steps`, defaults)) ?? []) : [];
    // A workflow's caches are its `actions/cache` steps, so `cache` keeps quire.yml's default (none).
    const base = jobOf({ name: id, needs: [...needs], env, timeoutMs, steps, condition, continueOnError, outputs, concurrency, runsOn });
    const { failFast, maxParallel } = strategy;
    // A matrix computed by an expression is known once the job is ready: until then the job is one, named by its id.
    if ("template" in strategy)
      return [
        {
          ...base,
          name: hasExpression(displayName) ? id : displayName,
          strategy: { failFast, maxParallel, index: 0, total: 0 },
          deferred: { matrix: strategy.template, name: hasExpression(displayName) ? displayName : null },
        },
      ];
    const contexts = { vars: {}, inputs: this.#inputs };
    return strategy.legs.map((matrix, index) =>
      legOf(
        base,
        displayName,
        matrix,
        matrix ? { failFast, maxParallel, index, total: strategy.legs.length } : null,
        contexts,
        READ_CONTEXTS,
      ),
    );
  }

  #needs(pair: Pair | undefined, field: string, job: string): string[] {
    if (!pair) return [];
    const node = this.#value(pair, field);
    if (isScalar(node) && typeof node.value === "string") {
      this.#needNodes.set(`${job}/${node.value}`, node);
      return [node.value];
    }
    if (!isSeq(node)) this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(node)}`, "expected a job id or a list of job ids");
    return node.items.map((item, i) => {
      const n = this.#src.resolve(item as Node, `${field}[${i}]`);
      if (!isScalar(n) || typeof n.value !== "string") this.#src.fail(n, `${field}[${i}]`, `got ${describe(n)}`, "expected a job id");
      this.#needNodes.set(`${job}/${n.value}`, n);
      return n.value;
    });
  }

  #minutes(pair: Pair | undefined, field: string): number | null {
    if (!pair) return null;
    const node = this.#value(pair, field);
    if (!isScalar(node) || typeof node.value !== "number" || node.value <= 0)
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(node)}`, "expected a number of minutes above zero");
    return Math.round(node.value * 60_000);
  }

  #outputs(pair: Pair | undefined, field: string): Record<string, string> {
    if (!pair) return {};
    const map = this.#value(pair, field);
    if (!isMap(map))
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(map)}`, "expected a mapping of output names to expressions");
    const outputs: Record<string, string> = {};
    for (const item of map.items) {
      const name = this.#try(() => this.#src.keyName(item, `${field}.`));
      if (name === undefined) continue;
      const value = this.#try(() => this.#text(item, `${field}.${name}`, C.outputs));
      if (value !== undefined) outputs[name] = value;
    }
    return outputs;
  }

  #runsOn(pair: Pair | undefined, field: string, job: Node): string[] {
    if (!pair) {
      this.#find(job, field, "missing", "say where the job runs (`runs-on: ubuntu-latest`); quire runs Linux labels on this machine");
      return [];
    }
    const node = this.#value(pair, field);
    const label = (n: ValueNode, at: string): string => {
      if (!isScalar(n) || typeof n.value !== "string") this.#src.fail(n, at, `got ${describe(n)}`, "expected a runner label");
      this.#checkExpressions(n, at, n.value, C.jobValue, []);
      return n.value;
    };
    if (isSeq(node)) return node.items.map((item, i) => label(this.#src.resolve(item as Node, `${field}[${i}]`), `${field}[${i}]`));
    if (isMap(node)) {
      const labels = this.#fields(node, `${field}.`, ["group", "labels"]).get("labels");
      return labels ? this.#runsOn(labels, `${field}.labels`, job) : [];
    }
    return [label(node, field)];
  }

  #strategy(pair: Pair | undefined, field: string): ReadStrategy {
    if (!pair) return { legs: [null], failFast: true, maxParallel: null };
    const map = this.#value(pair, field);
    if (!isMap(map)) this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(map)}`, "expected a mapping with `matrix`");
    const fields = this.#fields(map, `${field}.`, ["matrix", "fail-fast", "max-parallel"]);
    const failFast = fields.has("fail-fast") ? this.#boolean(fields.get("fail-fast")!, `${field}.fail-fast`) : true;
    const maxPair = fields.get("max-parallel");
    let maxParallel: number | null = null;
    if (maxPair) {
      const n = this.#value(maxPair, `${field}.max-parallel`);
      if (!isScalar(n) || typeof n.value !== "number" || !Number.isInteger(n.value) || n.value < 1)
        this.#src.fail(n, `${field}.max-parallel`, `got ${describe(n)}`, "expected a whole number above zero");
      maxParallel = n.value;
    }
    const matrixPair = fields.get("matrix");
    if (!matrixPair) return { legs: [null], failFast, maxParallel };
    const matrix = this.#value(matrixPair, `${field}.matrix`);
    // `${{ fromJSON(needs.setup.outputs.matrix) }}`: the legs are known once the job's needs have ended.
    if (isScalar(matrix) && typeof matrix.value === "string" && hasExpression(matrix.value)) {
      this.#checkExpressions(matrix, `${field}.matrix`, matrix.value, C.strategy, []);
      return { template: matrix.value, failFast, maxParallel };
    }
    if (!isMap(matrix))
      this.#src.fail(
        this.#src.valueAt(matrixPair),
        `${field}.matrix`,
        `got ${describe(matrix)}`,
        "expected a mapping of lists, with optional `include` and `exclude`, or one expression (`${{ fromJSON(...) }}`)",
      );
    const axes: [string, unknown[]][] = [];
    let include: MatrixValues[] = [];
    let exclude: MatrixValues[] = [];
    let computed = false;
    for (const item of matrix.items) {
      const key = this.#src.keyName(item, `${field}.matrix.`);
      const value = this.#value(item, `${field}.matrix.${key}`);
      const plain = value.toJSON() as unknown;
      if (isScalar(value) && typeof value.value === "string" && hasExpression(value.value)) {
        this.#checkExpressions(value, `${field}.matrix.${key}`, value.value, C.strategy, []);
        computed = true;
        continue;
      }
      const problem = matrixEntryProblem(key, plain);
      if (problem) this.#src.fail(value, `${field}.matrix.${key}`, `got ${describe(value)}`, problem);
      if (key === "include") include = plain as MatrixValues[];
      else if (key === "exclude") exclude = plain as MatrixValues[];
      else axes.push([key, plain as unknown[]]);
    }
    // A list computed by an expression (`node: ${{ fromJSON(needs.x.outputs.versions) }}`): likewise.
    if (computed) return { template: matrix.toJSON() as Record<string, unknown>, failFast, maxParallel };
    const legs = expandMatrix({ axes, include, exclude });
    if (legs.length === 0)
      this.#src.fail(matrix, `${field}.matrix`, "the matrix has no legs left", "check `exclude`: it removed every combination");
    if (legs.length > PIPELINE_LIMITS.matrixLegs)
      this.#src.fail(
        matrix,
        `${field}.matrix`,
        `the matrix has ${legs.length} legs`,
        `a matrix has at most ${PIPELINE_LIMITS.matrixLegs} legs, as on GitHub`,
      );
    return { legs, failFast, maxParallel };
  }

  #steps(pair: Pair, field: string, defaults: { shell?: string; workingDirectory?: string }): Step[] {
    const list = this.#value(pair, field);
    if (!isSeq(list) || list.items.length === 0)
      this.#src.fail(this.#src.valueAt(pair), field, `got ${describe(list)}`, "expected a list of steps, each with `run` or `uses`");
    const ids = new Set<string>();
    return list.items.flatMap((item, i) => {
      const step = this.#try(() => this.#step(this.#src.resolve(item as Node, `${field}[${i}]`), `${field}[${i}]`, defaults));
      if (step?.id) {
        if (ids.has(step.id))
          this.#find(item as Node, `${field}[${i}].id`, `the id \`${step.id}\` is used twice in this job`, "give each step its own id");
        ids.add(step.id);
      }
      return step ? [step] : [];
    });
  }

  #step(node: ValueNode, prefix: string, defaults: { shell?: string; workingDirectory?: string }): Step {
    if (!isMap(node)) this.#src.fail(node, prefix, `got ${describe(node)}`, "expected a mapping with `run` or `uses`");
    const fields = this.#fields(node, `${prefix}.`, STEP_FIELDS);
    const runPair = fields.get("run");
    const usesPair = fields.get("uses");
    if (runPair && usesPair) this.#src.fail(node, prefix, "a step has both `run` and `uses`", "give it one of them");
    if (!runPair && !usesPair) this.#src.fail(node, prefix, "a step has neither `run` nor `uses`", "give it one of them");
    const id = fields.has("id") ? this.#text(fields.get("id")!, `${prefix}.id`, []) : null;
    if (id !== null && !JOB_ID.test(id))
      this.#find(
        this.#src.valueAt(fields.get("id")!),
        `${prefix}.id`,
        "not a valid step id",
        "ids start with a letter or `_` and hold letters, digits, `_` and `-`",
      );
    const run = runPair ? this.#text(runPair, `${prefix}.run`, C.step, ["hashFiles"]) : "";
    const action = usesPair ? this.#action(usesPair, fields.get("with"), prefix) : null;
    if (!usesPair && fields.has("with"))
      this.#find(fields.get("with")!.key as Node, `${prefix}.with`, "`with` gives inputs to an action", "use it with `uses`");
    const name = fields.has("name")
      ? this.#text(fields.get("name")!, `${prefix}.name`, C.step)
      : action
        ? `Run ${action.uses}`
        : `Run ${firstLine(run)}`;
    const shellPair = fields.get("shell");
    const dirPair = fields.get("working-directory");
    const continuePair = fields.get("continue-on-error");
    return {
      name,
      namedByExpression: fields.has("name") && hasExpression(name),
      run,
      env: this.#env(fields.get("env"), `${prefix}.env`, C.step),
      timeoutMs: this.#minutes(fields.get("timeout-minutes"), `${prefix}.timeout-minutes`),
      workingDirectory: dirPair ? this.#text(dirPair, `${prefix}.working-directory`, C.step) : (defaults.workingDirectory ?? null),
      id,
      condition: this.#condition(fields.get("if"), `${prefix}.if`, C.stepIf),
      continueOnError: continuePair ? this.#text(continuePair, `${prefix}.continue-on-error`, C.step) : "false",
      shell: shellPair ? this.#shell(shellPair, `${prefix}.shell`, C.step) : (defaults.shell ?? null),
      action,
      inputs: null,
      scope: null,
      scopeEnd: null,
    };
  }

  #action(pair: Pair, withPair: Pair | undefined, prefix: string): Step["action"] {
    const uses = this.#text(pair, `${prefix}.uses`, []);
    const resolved = resolveAction(uses);
    if ("refused" in resolved) this.#src.fail(this.#src.valueAt(pair), `${prefix}.uses`, `\`${uses}\` is not run here`, resolved.refused);
    const inputs: Record<string, string> = {};
    if (withPair) {
      const map = this.#value(withPair, `${prefix}.with`);
      if (!isMap(map))
        this.#src.fail(
          this.#src.valueAt(withPair),
          `${prefix}.with`,
          `got ${describe(map)}`,
          "expected a mapping of input names to values",
        );
      for (const item of map.items) {
        const key = this.#src.keyName(item, `${prefix}.with.`);
        // A local or kept action's inputs are checked against its action.yml when the run is submitted.
        if (resolved.adapter !== "local" && resolved.adapter !== "kept" && !ADAPTER_INPUTS[resolved.adapter].includes(key)) {
          this.#find(
            item.key as Node,
            `${prefix}.with.${key}`,
            `${resolved.name} has no input \`${key}\` that quire knows`,
            `inputs: ${ADAPTER_INPUTS[resolved.adapter as ActionAdapter].join(", ")}`,
          );
          continue;
        }
        // hashFiles() too, as GitHub allows in a step's `with` (a cache's key is made of it).
        const value = this.#try(() => this.#text(item, `${prefix}.with.${key}`, C.step, ["hashFiles"]));
        if (value !== undefined) inputs[key] = value;
      }
    }
    if (CACHE_ADAPTERS.has(resolved.adapter)) this.#checkCacheInputs(inputs, withPair ?? pair, prefix, resolved.name);
    return { uses, adapter: resolved.adapter, with: inputs };
  }

  /** actions/cache needs `key` and `path`; a path written out (no expression) must lie inside the workspace. */
  #checkCacheInputs(inputs: Record<string, string>, at: Pair, prefix: string, name: string): void {
    for (const needed of ["key", "path"]) {
      if (inputs[needed] === undefined)
        this.#find(
          at.key as Node,
          `${prefix}.with.${needed}`,
          `${name} needs \`${needed}\``,
          "give the cache's `key` and the `path` it holds",
        );
    }
    const path = inputs.path;
    if (path === undefined || hasExpression(path)) return;
    for (const line of cachePathLines(path)) {
      if (cachePath(line) === undefined)
        this.#find(at.key as Node, `${prefix}.with.path`, `\`${line}\` is not a path quire caches`, CACHE_PATH_RULE);
    }
  }
}

/** A job's strategy as read: its legs, or a matrix computed by expressions once the job is ready. */
type ReadStrategy = { failFast: boolean; maxParallel: number | null } & ({ legs: (MatrixValues | null)[] } | { template: MatrixTemplate });

/**
 * The stored secrets a job's expressions name (`secrets.NPM_TOKEN`), so the run is refused up front when
 * one is not set. GITHUB_TOKEN is GitHub's own and reads as empty here.
 */
function secretsNamed(text: string): string[] {
  const names = new Set([...text.matchAll(/\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!.toUpperCase()));
  names.delete("GITHUB_TOKEN");
  return [...names].sort();
}

function firstLine(run: string): string {
  const line =
    run
      .split(/\r?\n/)
      .find((l) => l.trim() !== "")
      ?.trim() ?? "";
  return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}
