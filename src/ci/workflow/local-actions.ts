// A workflow's local actions (`uses: ./path`), read from the run's own tree once it is checked out and
// put in place of the step that uses them: a composite action's steps (with its inputs and a `steps`
// context of their own), or a JavaScript action's pre, main and post scripts run with the host's node
// (post at the job's end, last first). Everything happens before the run is recorded, so a bad action is
// refused like a bad workflow.
import { existsSync, readFileSync } from "node:fs";
import { join, normalize } from "node:path";
import { PipelineError } from "../errors.js";
import type { Job, Pipeline, Step } from "../pipeline/model.js";
import { keptActionRoot, parseActionSpec } from "./action-cache.js";
import { readAction } from "./read.js";

/** How deep composite actions may use other local actions. */
const MAX_DEPTH = 8;

/**
 * The pipeline with every local action of its jobs replaced by what the action runs, read under `root`,
 * and every other repository's action from the action cache `actionsDir`.
 */
export function expandLocalActions(pipeline: Pipeline, root: string, actionsDir: string): Pipeline {
  if (pipeline.kind !== "github") return pipeline;
  let uses = 0;
  const jobs = pipeline.jobs.map((job): Job => {
    const post: Step[] = [];
    const expand = (step: Step, depth: number): Step[] => {
      if (step.action?.adapter !== "local" && step.action?.adapter !== "kept") return [step];
      if (depth > MAX_DEPTH)
        throw new PipelineError(
          { file: pipeline.file, field: step.name },
          `local actions use each other more than ${MAX_DEPTH} deep`,
          "check for an action that uses itself",
        );
      const dir = actionDirectory(step.action.uses, step.action.adapter, root, actionsDir, pipeline.file, step.name);
      const file = ["action.yml", "action.yaml"].map((name) => join(dir, name)).find((path) => existsSync(path));
      if (!file)
        throw new PipelineError(
          { file: pipeline.file, field: step.name },
          `no action.yml in \`${step.action.uses}\``,
          "a local action's directory holds its action.yml",
        );
      const action = readAction(readFileSync(file, "utf8"), file.startsWith(`${root}/`) ? file.slice(root.length + 1) : file);
      for (const input of Object.keys(step.action.with)) {
        if (!(input in action.inputs))
          throw new PipelineError(
            { file, field: `inputs.${input}` },
            `${step.action.uses} has no input \`${input}\``,
            `its inputs: ${Object.keys(action.inputs).join(", ") || "none"}`,
          );
      }
      const inputs: Record<string, string> = {};
      for (const [name, spec] of Object.entries(action.inputs)) {
        const given = step.action.with[name];
        if (given === undefined && spec.required && spec.default === null) {
          throw new PipelineError(
            { file: pipeline.file, field: `${step.name}.with.${name}` },
            `${step.action.uses} needs the input \`${name}\``,
            "give it under `with`",
          );
        }
        inputs[name] = given ?? spec.default ?? "";
      }
      const label = (name: string) => `${step.name} / ${name}`;
      if (action.runs.using === "node") {
        // Relative to the workspace for a local action; a kept action's scripts stay where they are kept.
        const script = (entry: string) => (dir.startsWith(`${root}/`) ? join(dir.slice(root.length + 1), entry) : join(dir, entry));
        const node = (name: string, entry: string, condition: string | null): Step => ({
          ...step,
          name: label(name),
          action: { uses: step.action!.uses, adapter: "node", with: inputs, entry: script(entry) },
          condition,
          id: null,
        });
        const steps: Step[] = [];
        if (action.runs.pre) steps.push(node("pre", action.runs.pre, action.runs.preIf ?? "always()"));
        steps.push({ ...step, action: { uses: step.action.uses, adapter: "node", with: inputs, entry: script(action.runs.main) } });
        if (action.runs.post) post.unshift(node("post", action.runs.post, action.runs.postIf ?? "always()"));
        return steps;
      }
      const scope = `${job.name}#${++uses}`;
      const inner = action.runs.steps.flatMap((s) => expand({ ...s, name: label(s.name), inputs, scope: s.scope ?? scope }, depth + 1));
      if (inner.length === 0) return [];
      const last = inner[inner.length - 1]!;
      inner[inner.length - 1] = { ...last, scopeEnd: { id: step.id, outputs: action.outputs } };
      // The composite step's own `if` guards each of its steps.
      return inner.map((s) =>
        step.condition === null
          ? s
          : {
              ...s,
              condition: s.condition === null ? step.condition : `(${stripBraces(step.condition)}) && (${stripBraces(s.condition)})`,
            },
      );
    };
    const steps = job.steps.flatMap((step) => expand(step, 1));
    return { ...job, steps: [...steps, ...post] };
  });
  return { ...pipeline, jobs };
}

/** Where a `./path` action (under the run's tree) or a kept `owner/repo@ref` action (in the cache) lives. */
function actionDirectory(uses: string, adapter: "local" | "kept", root: string, actionsDir: string, file: string, field: string): string {
  if (adapter === "local") {
    const dir = normalize(uses.replace(/^\.\//, ""));
    if (dir.startsWith(".."))
      throw new PipelineError({ file, field }, `\`${uses}\` leaves the repository`, "a local action lives in the repository");
    return join(root, dir);
  }
  const spec = parseActionSpec(uses);
  if (!spec) throw new PipelineError({ file, field }, `\`${uses}\` is not an action name`, "name it `owner/repo@ref`");
  const kept = keptActionRoot(actionsDir, spec);
  if (!existsSync(kept)) {
    throw new PipelineError(
      { file, field },
      `\`${uses}\` is not in quire's action cache, and nothing is downloaded while a run runs`,
      `add it once with: quirectl action add ${uses}`,
    );
  }
  return join(kept, spec.path);
}

function stripBraces(condition: string): string {
  const trimmed = condition.trim();
  return trimmed.startsWith("${{") && trimmed.endsWith("}}") ? trimmed.slice(3, -2).trim() : trimmed;
}
