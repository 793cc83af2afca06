// One attempt of a GitHub workflow job on the host: each step's `${{ }}` evaluated when the job gets
// there, its `if` decided with the job's status so far, its shell, the runner files (GITHUB_ENV,
// GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STEP_SUMMARY) made before it and read after it, continue-on-error,
// and the job's outputs for the jobs that need it. quire.yml jobs never come here.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { arch, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { evaluateCondition, evaluateTemplate, evaluateValue, hasExpression, type Scope } from "../expressions/template.js";
import { strategyContext, workflowInputs } from "../workflow/job-legs.js";
import type { Job, Pipeline, Step } from "../pipeline/model.js";
import { hashFiles } from "../expressions/hash-files.js";
import { WorkingDirectoryError } from "../errors.js";
import { cacheStepOf, isCacheAdapter, type CacheStep } from "../cache/cache-step.js";
import { adapterScript } from "./action-adapters.js";

/** What every step of a workflow run sees of the run itself (the `github` context). */
export interface WorkflowRun {
  runId: number;
  workspace: string;
  repository: string;
  ref: string;
  sha: string;
  /** The workflow's name (`github.workflow`). */
  workflow?: string;
  /** Where each job's RUNNER_TEMP and runner files are made (the run's scratch directory); default: the system's. */
  tempRoot?: string;
}

/** How a job the workflow's jobs need ended, and what it handed on. */
export interface NeedResult {
  result: "success" | "failure" | "cancelled" | "skipped";
  outputs: Record<string, string>;
}

interface StepRecord {
  outputs: Record<string, string>;
  outcome: "success" | "failure" | "skipped";
  conclusion: "success" | "failure" | "skipped";
}

/**
 * A step as the launcher gets it (with what a sandboxed step may write besides its workspace), or why it
 * does not run; an actions/cache step, what it asks of the caches (its script says what they did).
 */
export type PreparedStep =
  | { skip: true }
  | { skip: false; script: string; cwd: string; env: Record<string, string>; writable?: string[] }
  | { skip: false; cache: CacheStep; cwd: string; env: Record<string, string>; writable?: string[] };

export class WorkflowJob {
  readonly #pipeline: Pipeline;
  readonly #job: Job;
  readonly #run: WorkflowRun;
  readonly #needs: Record<string, NeedResult>;
  readonly #secrets: Record<string, string>;
  readonly #temp: string;
  /** The `steps` context of the job (scope "") and of each use of a composite action. */
  readonly #scopes = new Map<string, Record<string, StepRecord>>();
  /** GITHUB_ENV and GITHUB_PATH written by the steps so far, for the steps after them. */
  readonly #addedEnv: Record<string, string> = {};
  readonly #addedPath: string[] = [];
  #failed = false;
  #files: { env: string; output: string; path: string; summary: string } | undefined;

  constructor(options: {
    pipeline: Pipeline;
    job: Job;
    run: WorkflowRun;
    needs: Record<string, NeedResult>;
    secrets: ReadonlyMap<string, string>;
  }) {
    this.#pipeline = options.pipeline;
    this.#job = options.job;
    this.#run = options.run;
    this.#needs = options.needs;
    this.#secrets = Object.fromEntries(options.secrets);
    const name = `quire-runner-${options.run.runId}-${safeName(options.job.name)}`;
    // A run's own directory is the run's alone; under the system's temporary directory another process's
    // run of the same id and job (another daemon, a test file beside this one) may be using that name.
    if (options.run.tempRoot === undefined) this.#temp = mkdtempSync(join(tmpdir(), `${name}-`));
    else {
      this.#temp = join(options.run.tempRoot, name);
      mkdirSync(this.#temp, { recursive: true, mode: 0o700 });
    }
  }

  /** Whether the job runs at all: its `if`, with its needs' results. */
  static shouldRun(pipeline: Pipeline, job: Job, needs: Record<string, NeedResult>, run: WorkflowRun): boolean {
    const failed = Object.values(needs).some((n) => n.result === "failure" || n.result === "cancelled" || n.result === "skipped");
    return evaluateCondition(job.condition, {
      contexts: { github: githubContext(run, job), needs, vars: {}, inputs: workflowInputs(pipeline.on) },
      status: { failed, cancelled: false },
    });
  }

  /** The step's command, directory and environment, or skip when its condition says so. */
  prepare(step: Step, index: number, base: Record<string, string>, baseDir: string): PreparedStep {
    const scope = this.#scope(base, step);
    if (!evaluateCondition(step.condition, scope)) {
      if (step.id) this.#stepsOf(step.scope)[step.id] = { outputs: {}, outcome: "skipped", conclusion: "skipped" };
      return { skip: true };
    }
    const files = this.#newFiles(index);
    const env: Record<string, string> = { ...base, ...this.#addedEnv };
    // A workflow's secrets reach a step only where its `env` or text names them, not as variables of their own.
    for (const name of this.#job.secrets) delete env[name];
    for (const layer of [this.#pipeline.env, this.#job.env, step.env]) {
      for (const [name, value] of Object.entries(layer))
        env[name] = evaluateTemplate(value, { ...scope, contexts: { ...scope.contexts, env } });
    }
    if (this.#addedPath.length > 0) env.PATH = [...this.#addedPath].reverse().join(":") + (env.PATH ? `:${env.PATH}` : "");
    Object.assign(env, this.#runnerEnv(files));
    const stepScope = { ...scope, contexts: { ...scope.contexts, env } };
    const dir = step.workingDirectory === null ? "." : evaluateTemplate(step.workingDirectory, stepScope);
    const inputs = step.action
      ? Object.fromEntries(Object.entries(step.action.with).map(([k, v]) => [k, evaluateTemplate(v, stepScope)]))
      : {};
    // A JavaScript action reads its inputs from INPUT_<NAME>, the name upper-cased with spaces as `_`.
    if (step.action?.adapter === "node")
      for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.replace(/ /g, "_").toUpperCase()}`] = v;
    const cwd = resolve(baseDir, dir);
    if (cwd !== baseDir && !cwd.startsWith(`${baseDir}/`)) throw new WorkingDirectoryError(dir);
    // The runner files live outside the workspace: a sandboxed step is given them to write.
    const writable = [this.#temp];
    const action = step.action;
    if (!action)
      return {
        skip: false,
        script: this.#shellScript(
          evaluateTemplate(step.run, stepScope),
          step.shell === null ? null : evaluateTemplate(step.shell, stepScope),
          index,
        ),
        cwd,
        env,
        writable,
      };
    const { adapter } = action;
    if (isCacheAdapter(adapter)) return { skip: false, cache: cacheStepOf(adapter, inputs), cwd, env, writable };
    return {
      skip: false,
      script: adapterScript(adapter, inputs, action.entry === undefined ? undefined : resolve(baseDir, action.entry)),
      cwd,
      env,
      writable,
    };
  }

  /** The step's name as it shows, evaluated as it starts (it may use `steps`, `env`, `runner`); as written when it cannot be. */
  stepName(step: Step, base: Record<string, string>): string {
    if (!step.namedByExpression || !hasExpression(step.name)) return step.name;
    try {
      return evaluateTemplate(step.name, this.#scope(base, step)) || step.name;
    } catch {
      return step.name;
    }
  }

  /** Records how a step that ran ended; false when the job fails here (continue-on-error aside). */
  finish(step: Step, ok: boolean, base: Record<string, string>): boolean {
    const files = this.#files!;
    const outputs = readKeyValues(files.output);
    Object.assign(this.#addedEnv, readKeyValues(files.env));
    for (const line of readLines(files.path)) this.#addedPath.push(line);
    const allowed = !ok && String(evaluateValue(step.continueOnError, this.#scope(base, step))) === "true";
    const record: StepRecord = { outputs, outcome: ok ? "success" : "failure", conclusion: ok || allowed ? "success" : "failure" };
    if (step.id) this.#stepsOf(step.scope)[step.id] = record;
    if (step.scopeEnd?.id) {
      // A composite action's last step: the action's outputs, for the step that used it.
      const inner = this.#scope(base, step);
      const actionOutputs = Object.fromEntries(
        Object.entries(step.scopeEnd.outputs).map(([name, value]) => [name, evaluateTemplate(value, inner)]),
      );
      this.#stepsOf(null)[step.scopeEnd.id] = { ...record, outputs: actionOutputs };
    }
    if (!ok && !allowed) this.#failed = true;
    return ok || allowed;
  }

  /** The job's `outputs`, evaluated once its steps have run. */
  outputs(base: Record<string, string>): Record<string, string> {
    const scope = this.#scope(base);
    return Object.fromEntries(Object.entries(this.#job.outputs).map(([name, value]) => [name, evaluateTemplate(value, scope)]));
  }

  /** Removes RUNNER_TEMP and the runner files: they live as long as the job's attempt, as on GitHub. */
  dispose(): void {
    // Called once what the steps left running has ended; a removal that still fails leaves the directory to
    // the run's scratch removal, and never fails the job.
    try {
      rmSync(this.#temp, { recursive: true, force: true, maxRetries: 3 });
    } catch {}
  }

  /** What the step wrote to GITHUB_STEP_SUMMARY, if anything. */
  summary(): string {
    return this.#files ? readText(this.#files.summary) : "";
  }

  #stepsOf(scope: string | null): Record<string, StepRecord> {
    let records = this.#scopes.get(scope ?? "");
    if (!records) this.#scopes.set(scope ?? "", (records = {}));
    return records;
  }

  /** What expressions see; in a composite action's step, its own `steps` and the `inputs` it was given. */
  #scope(env: Record<string, string>, step?: Step): Scope {
    const outer = step?.inputs ? this.#scope(env) : undefined;
    const inputs =
      step?.inputs && outer ? Object.fromEntries(Object.entries(step.inputs).map(([k, v]) => [k, evaluateTemplate(v, outer)])) : {};
    return {
      contexts: {
        github: githubContext(this.#run, this.#job),
        env: { ...env, ...this.#addedEnv },
        matrix: this.#job.matrix ?? {},
        strategy: strategyContext(this.#job.strategy),
        secrets: this.#secrets,
        steps: this.#stepsOf(step?.scope ?? null),
        needs: this.#needs,
        job: { status: this.#failed ? "failure" : "success" },
        runner: runnerContext(this.#temp),
        vars: {},
        inputs: step?.inputs ? inputs : workflowInputs(this.#pipeline.on),
      },
      status: { failed: this.#failed, cancelled: false },
      hashFiles: (patterns) => hashFiles(this.#run.workspace, patterns),
    };
  }

  #newFiles(index: number) {
    const dir = join(this.#temp, `_step${index}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const files = { env: join(dir, "env"), output: join(dir, "output"), path: join(dir, "path"), summary: join(dir, "summary.md") };
    for (const file of Object.values(files)) writeFileSync(file, "");
    this.#files = files;
    return files;
  }

  #runnerEnv(files: { env: string; output: string; path: string; summary: string }): Record<string, string> {
    const github = githubContext(this.#run, this.#job);
    const runner = runnerContext(this.#temp);
    return {
      CI: "true",
      GITHUB_ACTIONS: "true",
      GITHUB_WORKSPACE: this.#run.workspace,
      GITHUB_SHA: String(github.sha),
      GITHUB_REF: String(github.ref),
      GITHUB_REF_NAME: String(github.ref_name),
      GITHUB_REF_TYPE: "branch",
      GITHUB_REPOSITORY: String(github.repository),
      GITHUB_EVENT_NAME: String(github.event_name),
      GITHUB_RUN_ID: String(this.#run.runId),
      GITHUB_RUN_NUMBER: String(this.#run.runId),
      GITHUB_RUN_ATTEMPT: "1",
      GITHUB_JOB: this.#job.group,
      GITHUB_ACTOR: String(github.actor),
      GITHUB_ENV: files.env,
      GITHUB_OUTPUT: files.output,
      GITHUB_PATH: files.path,
      GITHUB_STEP_SUMMARY: files.summary,
      RUNNER_OS: String(runner.os),
      RUNNER_ARCH: String(runner.arch),
      RUNNER_TEMP: String(runner.temp),
      RUNNER_TOOL_CACHE: String(runner.tool_cache),
    };
  }

  /** bash (quire's strict default) runs the text itself; other shells run it from a file, as GitHub does. */
  #shellScript(text: string, shell: string | null, index: number): string {
    if (shell === null || shell === "bash") return text;
    // PowerShell runs a script file only when its name ends in .ps1.
    const file = join(this.#temp, `_step${index}`, shell === "pwsh" ? "script.ps1" : "script");
    writeFileSync(file, text);
    const quoted = `'${file.replace(/'/g, "'\\''")}'`;
    if (shell === "sh") return `exec sh -e ${quoted}`;
    if (shell === "python") return `exec python3 ${quoted}`;
    if (shell === "pwsh") {
      // Where PowerShell is installed; elsewhere the step fails saying so.
      return `command -v pwsh >/dev/null || { echo "quire: this step's shell is pwsh, which is not installed here" >&2; exit 127; }\nexec pwsh -NoLogo -NoProfile -NonInteractive -File ${quoted}`;
    }
    return `exec ${shell.replace("{0}", quoted)}`;
  }
}

/** The `github` context of a job of the run (`job`: null for what is evaluated before any job, a concurrency group). */
export function githubContext(run: Omit<WorkflowRun, "tempRoot">, job: Job | null): Record<string, unknown> {
  const refName = run.ref.replace(/^refs\/(heads|tags)\//, "");
  return {
    workflow: run.workflow ?? "",
    head_ref: "",
    base_ref: "",
    sha: run.sha,
    ref: run.ref.startsWith("refs/") ? run.ref : `refs/heads/${run.ref}`,
    ref_name: refName,
    repository: run.repository,
    workspace: run.workspace,
    event_name: "push",
    run_id: String(run.runId),
    run_number: String(run.runId),
    run_attempt: "1",
    actor: process.env.USER ?? "quire",
    job: job?.group ?? "",
    server_url: "",
    action: "",
  };
}

function runnerContext(temp: string): Record<string, unknown> {
  const os = process.platform === "darwin" ? "macOS" : process.platform === "win32" ? "Windows" : "Linux";
  return {
    os,
    arch: arch() === "arm64" ? "ARM64" : arch() === "x64" ? "X64" : arch().toUpperCase(),
    temp,
    tool_cache: join(temp, "tool-cache"),
    name: "quire",
    environment: "self-hosted",
  };
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 80);
}

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function readLines(file: string): string[] {
  return readText(file)
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "");
}

/** `NAME=value` lines and `NAME<<DELIMITER` blocks, as GitHub reads GITHUB_ENV and GITHUB_OUTPUT. */
export function readKeyValues(file: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = readText(file).split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    if (heredoc && !line.includes("=")) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i]!);
      values[heredoc[1]!] = body.join("\n");
    } else if (line.includes("=")) {
      const at = line.indexOf("=");
      values[line.slice(0, at)] = line.slice(at + 1);
    }
  }
  return values;
}
