import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Alias } from "yaml";
import { PipelineError } from "../../../src/ci/errors.js";
import { parseDuration } from "../../../src/ci/pipeline/duration.js";
import { findCycle } from "../../../src/ci/pipeline/graph.js";
import { jobOf, pipelineOf, stepOf, type Job, type Pipeline, type Step } from "../../../src/ci/pipeline/model.js";
import { loadPipeline, parsePipeline, readPipelineFile } from "../../../src/ci/pipeline/parse.js";
import { MAX_PIPELINE_BYTES, PIPELINE_LIMITS, REMOTE_CACHE_TIMEOUT_MS } from "../../../src/ci/rules.js";
import { closest } from "../../../src/ci/pipeline/suggest.js";

const FILE = "quire.yml";

/** Lines joined with newlines, so positions in a test read off the array index (line = index + 1). */
function yaml(...lines: string[]): string {
  return lines.join("\n") + "\n";
}

/** The PipelineError parsing `text` throws. */
function refusal(text: string, file = FILE): PipelineError {
  try {
    parsePipeline(text, file);
  } catch (error) {
    assert.ok(error instanceof PipelineError, `expected a PipelineError, got ${error}`);
    return error;
  }
  assert.fail("the pipeline was accepted");
}

/** Asserts the refusal's code and place: field, line and column (1-based). */
function assertRefused(text: string, field: string | null, line: number, column: number): PipelineError {
  const error = refusal(text);
  assert.equal(error.code, "QUIRE_ERR_PIPELINE_INVALID");
  assert.deepEqual({ file: error.file, line: error.line, column: error.column, field: error.field }, { file: FILE, line, column, field });
  assert.ok(error.message.startsWith(`${FILE}:${line}:${column}: `), error.message);
  return error;
}

/** Runs `action` with `target[method]` replaced by `replacement`. */
function withMethod<T>(target: object, method: string, replacement: () => unknown, action: () => T): T {
  const methods = target as Record<string, unknown>;
  const original = methods[method];
  methods[method] = replacement;
  try {
    return action();
  } finally {
    methods[method] = original;
  }
}

function step(run: string, name = run): Step {
  return stepOf({ name, run });
}

function job(name: string, steps: Step[], more: Partial<Job> = {}): Job {
  return jobOf({ name, steps, ...more });
}

describe("good files", () => {
  test("the README's example pipeline parses into the exact model", () => {
    const text = yaml(
      "name: demo",
      "env: { GREETING: hello }",
      "jobs:",
      "  build:",
      "    steps:",
      "      - name: compile",
      '        run: echo "$GREETING"',
      "  test:",
      "    needs: [build]",
      "    timeout: 5m",
      "    steps:",
      '      - run: test -t 1 && echo "in a terminal"',
    );
    const expected: Pipeline = {
      kind: "quire",
      on: null,
      concurrency: null,
      remoteCache: null,
      name: "demo",
      file: FILE,
      env: { GREETING: "hello" },
      jobs: [
        job("build", [step('echo "$GREETING"', "compile")]),
        job("test", [step('test -t 1 && echo "in a terminal"')], { needs: ["build"], timeoutMs: 300_000 }),
      ],
    };
    assert.deepEqual(parsePipeline(text, FILE), expected);
  });

  test("every field round-trips to the model and through JSON", () => {
    const text = yaml(
      "name: everything",
      "env:",
      "  A: one",
      "jobs:",
      "  build:",
      "    steps: [make]",
      "  test:",
      "    needs: build", // a single name is a list of one
      "    env: { B: two }",
      "    timeout: 1h30m",
      "    retries: 2",
      "    secrets: [NPM_TOKEN, _X1, NPM_TOKEN]", // duplicates collapse
      "    working-directory: ./packages//web/",
      "    network: false",
      "    steps:",
      "      - name: unit",
      "        run: npm test",
      "        env: { C: three }",
      "        timeout: 90",
      "        working-directory: .",
      "      - run: npm run lint",
      "        timeout: 500ms",
      "        working-directory: tools/../lint",
    );
    const pipeline = parsePipeline(text, FILE);
    assert.deepEqual(
      pipeline,
      pipelineOf({
        name: "everything",
        file: FILE,
        env: { A: "one" },
        jobs: [
          job("build", [step("make")]),
          job(
            "test",
            [
              stepOf({ name: "unit", run: "npm test", env: { C: "three" }, timeoutMs: 90_000, workingDirectory: "." }),
              stepOf({ name: "npm run lint", run: "npm run lint", env: {}, timeoutMs: 500, workingDirectory: "lint" }),
            ],
            {
              needs: ["build"],
              env: { B: "two" },
              timeoutMs: 5_400_000,
              retries: 2,
              secrets: ["NPM_TOKEN", "_X1"],
              workingDirectory: "packages/web",
              network: false,
            },
          ),
        ],
      }),
    );
    assert.deepEqual([pipeline.jobs[0]!.sandbox, pipeline.jobs[0]!.network], [true, true], "sandboxed, with the network, by default");
    assert.equal(parsePipeline(yaml("jobs:", "  a:", "    sandbox: false", "    steps: [x]"), FILE).jobs[0]!.sandbox, false);
    assert.deepEqual(JSON.parse(JSON.stringify(pipeline)), pipeline);
  });

  test("a plain string is a step's run, named after its first non-blank line", () => {
    const long = "x".repeat(70);
    const text = yaml(
      "jobs:",
      "  a:",
      "    steps:",
      "      - make all",
      "      - |",
      "",
      "        set -e   ",
      "        make test",
      `      - echo ${long}`,
      "      - name: explicit",
      "        run: make dist",
    );
    const steps = parsePipeline(text, FILE).jobs[0]!.steps;
    assert.deepEqual(
      steps.map((s) => s.run),
      ["make all", "\nset -e   \nmake test\n", `echo ${long}`, "make dist"],
    );
    assert.deepEqual(
      steps.map((s) => s.name),
      ["make all", "set -e", `echo ${"x".repeat(54)}…`, "explicit"],
    );
    assert.equal(Array.from(steps[2]!.name).length, 60);
  });

  test("env numbers and booleans become strings as written; anchors and aliases work", () => {
    const text = yaml(
      "env: &common",
      "  VERSION: 1.10",
      "  PORT: 8080",
      "  MASK: 0x1F",
      "  DEBUG: true",
      "  EMPTY: ''",
      "jobs:",
      "  a:",
      "    env: *common",
      "    steps: [make]",
    );
    const pipeline = parsePipeline(text, FILE);
    const env = { VERSION: "1.10", PORT: "8080", MASK: "0x1F", DEBUG: "true", EMPTY: "" };
    assert.deepEqual(pipeline.env, env);
    assert.deepEqual(pipeline.jobs[0]!.env, env);
  });

  test("the name defaults to the file's base name without its extension", () => {
    const text = yaml("jobs:", "  a:", "    steps: [make]");
    assert.equal(parsePipeline(text, "ci/nightly.yaml").name, "nightly");
    assert.equal(parsePipeline(text, "quire.yml").name, "quire");
    assert.equal(parsePipeline("name: mine\n" + text, "quire.yml").name, "mine");
  });

  test("a job's caches, inputs and outputs: paths normalised, a lone value as a list of one", () => {
    const text = yaml(
      "jobs:",
      "  deps:",
      "    cache:",
      "      - key: deps-${{ hashFiles('package-lock.json', '**/*.lock') }}",
      "        paths: [node_modules, ./.cache/tool/]",
      "        restore-keys: [deps-]",
      "      - key: shared:tools",
      "        paths: bin",
      "    inputs: [src/, package.json, src]",
      "    outputs: dist",
      "    steps: [npm ci]",
      "  plain:",
      "    steps: [make]",
    );
    const [deps, plain] = parsePipeline(text, FILE).jobs;
    assert.deepEqual(deps!.cache, [
      { key: "deps-${{ hashFiles('package-lock.json', '**/*.lock') }}", paths: ["node_modules", ".cache/tool"], restoreKeys: ["deps-"] },
      { key: "shared:tools", paths: ["bin"], restoreKeys: [] },
    ]);
    assert.deepEqual(deps!.inputs, ["src", "package.json"]);
    assert.deepEqual(deps!.outputPaths, ["dist"]);
    assert.deepEqual(
      [plain!.cache, plain!.inputs, plain!.outputPaths, plain!.inputTree],
      [[], null, [], null],
      "defaults: no caches, the whole tree, no outputs",
    );
    assert.deepEqual(
      parsePipeline(yaml("jobs:", "  a:", "    inputs: [.]", "    steps: [x]"), FILE).jobs[0]!.inputs,
      ["."],
      "inputs may be the whole tree",
    );
  });

  test("jobs keep file order even when a job needs one defined after it", () => {
    const text = yaml("jobs:", "  test:", "    needs: [build]", "    steps: [t]", "  build:", "    steps: [b]");
    const pipeline = parsePipeline(text, FILE);
    assert.deepEqual(
      pipeline.jobs.map((j) => j.name),
      ["test", "build"],
    );
  });
});

describe("bad files name file:line:column and the field", () => {
  test("a YAML syntax error: the first one, at its position", () => {
    const error = assertRefused(yaml("jobs:", "  a:", "    steps:", "      - run: echo a: b", "      - run: [x"), null, 4, 14);
    assert.match(error.message, /invalid YAML/);
  });

  test("duplicate keys and a second document are YAML errors", () => {
    assertRefused(yaml("jobs:", "  a:", "    steps: [x]", "  a:", "    steps: [y]"), null, 4, 3);
    assertRefused(yaml("name: x", "---", "jobs: {}"), null, 2, 1);
  });

  test("the top level must be a mapping", () => {
    assertRefused("", null, 1, 1);
    assertRefused("# only a comment\n", null, 1, 1);
    assertRefused(yaml("- a", "- b"), null, 1, 1);
    assertRefused(yaml("", "just text"), null, 2, 1);
  });

  test("an unknown field at the top level, with a suggestion", () => {
    const error = assertRefused(yaml("name: x", "job:", "  a:", "    steps: [x]"), "job", 2, 1);
    assert.match(error.message, /did you mean `jobs`\?/);
  });

  test("an unknown field in a job, with a suggestion", () => {
    const error = assertRefused(yaml("jobs:", "  a:", "    steps: [x]", "  b:", "    need: [a]", "    steps: [y]"), "jobs.b.need", 5, 5);
    assert.match(error.message, /did you mean `needs`\?/);
    const underscore = assertRefused(yaml("jobs:", "  a:", "    working_directory: x", "    steps: [x]"), "jobs.a.working_directory", 3, 5);
    assert.match(underscore.message, /did you mean `working-directory`\?/);
  });

  test("an unknown field in a step, with a suggestion (a swap of two letters counts as one edit)", () => {
    const error = assertRefused(yaml("jobs:", "  a:", "    steps:", "      - rnu: make", "        nmae: x"), "jobs.a.steps[0].rnu", 4, 9);
    assert.match(error.message, /did you mean `run`\?/);
  });

  test("an unknown field far from every known one gets no suggestion", () => {
    const error = assertRefused(yaml("jobs:", "  a:", "    runs-on: linux", "    steps: [x]"), "jobs.a.runs-on", 3, 5);
    assert.doesNotMatch(error.message, /did you mean/);
    assert.equal(closest("on", ["env", "name"]), undefined);
  });

  test("wrong types, at the value", () => {
    assertRefused(yaml("name: [x]", "jobs: {}"), "name", 1, 7);
    assertRefused(yaml("jobs:", "  - a"), "jobs", 2, 3);
    assertRefused(yaml("jobs:", "  a: make"), "jobs.a", 2, 6);
    assertRefused(yaml("jobs:", "  a:", "    steps:", "      run: make"), "jobs.a.steps", 4, 7);
    assertRefused(yaml("jobs:", "  a:", "    steps:", "      - 42"), "jobs.a.steps[0]", 4, 9);
    assertRefused(yaml("jobs:", "  a:", "    steps:", "      - run: true"), "jobs.a.steps[0].run", 4, 14);
    assertRefused(yaml("jobs:", "  a:", "    steps:", "      - run: '  '"), "jobs.a.steps[0].run", 4, 14);
    assertRefused(yaml("jobs:", "  a:", "    steps:", "      - run: x", "        name: 3"), "jobs.a.steps[0].name", 5, 15);
    assertRefused(yaml("jobs:", "  a:", "    needs: 3", "    steps: [x]"), "jobs.a.needs", 3, 12);
    assertRefused(yaml("jobs:", "  a:", "    needs: [b, [c]]", "    steps: [x]"), "jobs.a.needs[1]", 3, 16);
    assertRefused(yaml("jobs:", "  a:", "    secrets: NPM_TOKEN", "    steps: [x]"), "jobs.a.secrets", 3, 14);
    assertRefused(yaml("jobs:", "  a:", "    working-directory: 3", "    steps: [x]"), "jobs.a.working-directory", 3, 24);
    assertRefused(yaml("jobs:", "  a:", "    sandbox: no", "    steps: [x]"), "jobs.a.sandbox", 3, 14);
    assertRefused(yaml("jobs:", "  a:", "    network: 0", "    steps: [x]"), "jobs.a.network", 3, 14);
  });

  test("`network: false` without the sandbox: nothing could keep the steps off the network", () => {
    const error = assertRefused(
      yaml("jobs:", "  a:", "    sandbox: false", "    network: false", "    steps: [x]"),
      "jobs.a.network",
      4,
      14,
    );
    assert.match(error.message, /needs the sandbox/);
  });

  test("env: a mapping of shell names to scalars", () => {
    assertRefused(yaml("env: [A]", "jobs: {}"), "env", 1, 6);
    assertRefused(yaml("env:", "  A: { b: c }", "jobs: {}"), "env.A", 2, 6);
    assertRefused(yaml("env:", "  A:", "jobs: {}"), "env.A", 2, 3);
    assertRefused(yaml("env:", "  A-B: x", "jobs: {}"), "env.A-B", 2, 3);
    assertRefused(yaml("jobs:", "  a:", "    steps:", "      - run: x", "        env: { 1X: y }"), "jobs.a.steps[0].env.1X", 5, 16);
  });

  test("a bad duration, at job and step level", () => {
    const job = (timeout: string) => yaml("jobs:", "  a:", `    timeout: ${timeout}`, "    steps: [x]");
    for (const timeout of ["5 min", "30m1h", "0s", "0", "-5", "1000h", "true", "[5m]"]) {
      assertRefused(job(timeout), "jobs.a.timeout", 3, 14);
    }
    assertRefused(yaml("jobs:", "  a:", "    steps:", "      - run: x", "        timeout: 5d"), "jobs.a.steps[0].timeout", 5, 18);
  });

  test("bad retries", () => {
    for (const retries of ["11", "-1", "1.5", '"3"', "many"]) {
      assertRefused(yaml("jobs:", "  a:", `    retries: ${retries}`, "    steps: [x]"), "jobs.a.retries", 3, 14);
    }
  });

  test("a bad secret name, at the item", () => {
    assertRefused(yaml("jobs:", "  a:", "    secrets: [NPM_TOKEN, npm_token]", "    steps: [x]"), "jobs.a.secrets[1]", 3, 26);
    assertRefused(yaml("jobs:", "  a:", "    secrets:", "      - 1X", "    steps: [x]"), "jobs.a.secrets[0]", 4, 9);
  });

  test("a bad job name, at the key", () => {
    assertRefused(yaml("jobs:", "  ok:", "    steps: [x]", "  my job:", "    steps: [x]"), "jobs.my job", 4, 3);
  });

  test("needs naming no job, with a suggestion", () => {
    const text = yaml("jobs:", "  test:", "    steps: [x]", "  deploy:", "    needs: [test, tset]", "    steps: [y]");
    const error = assertRefused(text, "jobs.deploy.needs[1]", 5, 19);
    assert.match(error.message, /did you mean `test`\?/);
  });

  test("a cycle, naming its jobs in order, at the need that starts it", () => {
    const text = yaml(
      "jobs:",
      "  lint:",
      "    steps: [l]",
      "  build:",
      "    needs: [lint, deploy]",
      "    steps: [b]",
      "  test:",
      "    needs: build",
      "    steps: [t]",
      "  deploy:",
      "    needs: [test]",
      "    steps: [d]",
    );
    const error = assertRefused(text, "jobs.build.needs[1]", 5, 19);
    assert.match(error.message, /build -> deploy -> test -> build/);
    const self = assertRefused(yaml("jobs:", "  a:", "    needs: a", "    steps: [x]"), "jobs.a.needs", 3, 12);
    assert.match(self.message, /a -> a/);
  });

  test("a job with no steps", () => {
    assertRefused(yaml("jobs:", "  a:", "    steps: [x]", "  b:", "    needs: [a]"), "jobs.b.steps", 4, 3);
    assertRefused(yaml("jobs:", "  a:", "    steps: []"), "jobs.a.steps", 3, 12);
    assertRefused(yaml("jobs:", "  a:", "    steps:"), "jobs.a.steps", 3, 5);
    assertRefused(yaml("jobs:", "  a: {}"), "jobs.a.steps", 2, 3);
    assertRefused(yaml("jobs:", "  a:"), "jobs.a", 2, 3);
  });

  test("an empty or missing jobs map", () => {
    assertRefused(yaml("name: x", "jobs: {}"), "jobs", 2, 7);
    assertRefused(yaml("name: x", "jobs:"), "jobs", 2, 1);
    assertRefused(yaml("name: x", "env: { A: b }"), "jobs", 1, 1);
  });

  test("a working-directory that is absolute or escapes the workspace", () => {
    const job = (dir: string) => yaml("jobs:", "  a:", `    working-directory: ${dir}`, "    steps: [x]");
    for (const dir of ["..", "../x", "a/../../b", "/etc", "'C:\\x'", "'a\\b'", "''"]) {
      assertRefused(job(dir), "jobs.a.working-directory", 3, 24);
    }
    assertRefused(
      yaml("jobs:", "  a:", "    steps:", "      - run: x", "        working-directory: ../.."),
      "jobs.a.steps[0].working-directory",
      5,
      28,
    );
  });

  test("a bad cache: its shape, key and paths, at the value", () => {
    const cache = (...lines: string[]) => yaml("jobs:", "  a:", "    cache:", ...lines, "    steps: [x]");
    assertRefused(yaml("jobs:", "  a:", "    cache: { key: k, paths: [p] }", "    steps: [x]"), "jobs.a.cache", 3, 12);
    assertRefused(cache("      - node_modules"), "jobs.a.cache[0]", 4, 9);
    assertRefused(cache("      - paths: [p]"), "jobs.a.cache[0].key", 4, 9);
    assertRefused(cache("      - key: k"), "jobs.a.cache[0].paths", 4, 9);
    assertRefused(cache("      - key: k", "        paths: [p]", "        path: [q]"), "jobs.a.cache[0].path", 6, 9);
    assertRefused(cache("      - key: ''", "        paths: [p]"), "jobs.a.cache[0].key", 4, 14);
    assertRefused(cache("      - key: a,b", "        paths: [p]"), "jobs.a.cache[0].key", 4, 14);
    assertRefused(cache(`      - key: ${"k".repeat(513)}`, "        paths: [p]"), "jobs.a.cache[0].key", 4, 14);
    const context = assertRefused(cache("      - key: deps-${{ env.HOME }}", "        paths: [p]"), "jobs.a.cache[0].key", 4, 14);
    assert.match(context.message, /hashFiles/);
    assertRefused(cache("      - key: k", "        paths: [p]", "        restore-keys: [a, 3]"), "jobs.a.cache[0].restore-keys[1]", 6, 27);
    for (const [path, column] of [
      ["~/.npm", 17],
      ["/abs", 17],
      ["../up", 17],
      ["'*.lock'", 17],
      ["'!x'", 17],
      [".", 17],
      ["a/..", 17],
    ] as const) {
      const refused = assertRefused(cache("      - key: k", `        paths: [${path}]`), "jobs.a.cache[0].paths[0]", 5, column);
      assert.match(refused.message, /inside the run's workspace/);
    }
    assertRefused(cache("      - key: k", "        paths: []"), "jobs.a.cache[0].paths", 5, 16);
    const many = Array.from({ length: 17 }, (_, i) => `      - { key: k${i}, paths: [p] }`);
    assertRefused(cache(...many), "jobs.a.cache[16]", 20, 9);
  });

  test("bad inputs and outputs, at the item", () => {
    assertRefused(yaml("jobs:", "  a:", "    inputs: [src, ../x]", "    steps: [x]"), "jobs.a.inputs[1]", 3, 19);
    assertRefused(yaml("jobs:", "  a:", "    inputs: [src/*]", "    steps: [x]"), "jobs.a.inputs[0]", 3, 14);
    assertRefused(yaml("jobs:", "  a:", "    inputs: { a: b }", "    steps: [x]"), "jobs.a.inputs", 3, 13);
    assertRefused(yaml("jobs:", "  a:", "    outputs: [.]", "    steps: [x]"), "jobs.a.outputs[0]", 3, 15);
    assertRefused(yaml("jobs:", "  a:", "    outputs: [/tmp/x]", "    steps: [x]"), "jobs.a.outputs[0]", 3, 15);
  });

  test("an alias naming no anchor", () => {
    assertRefused(yaml("jobs:", "  a:", "    env: *common", "    steps: [x]"), "jobs.a.env", 3, 10);
  });
});

describe("loadPipeline", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "quire-pipeline-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("reads a file, positions and default name taken from its path", async () => {
    const path = join(dir, "nightly.yml");
    await writeFile(path, yaml("jobs:", "  a:", "    steps: [make]"));
    assert.deepEqual(loadPipeline(path), pipelineOf({ name: "nightly", file: path, jobs: [job("a", [step("make")])] }));
    await writeFile(path, yaml("jobs:", "  a:", "    stesp: [make]"));
    const error = refusalOf(() => loadPipeline(path));
    assert.deepEqual([error.file, error.line, error.column, error.field], [path, 3, 5, "jobs.a.stesp"]);
  });

  test("a missing file is a PipelineError at the path with no line", () => {
    const path = join(dir, "missing.yml");
    const error = refusalOf(() => loadPipeline(path));
    assert.equal(error.code, "QUIRE_ERR_PIPELINE_INVALID");
    assert.deepEqual([error.file, error.line, error.column, error.field], [path, null, null, null]);
    assert.equal((error.cause as NodeJS.ErrnoException).code, "ENOENT");
    assert.ok(error.message.startsWith(`${path}: `), error.message);
  });
});

function refusalOf(load: () => unknown): PipelineError {
  try {
    load();
  } catch (error) {
    assert.ok(error instanceof PipelineError, `expected a PipelineError, got ${error}`);
    return error;
  }
  assert.fail("the pipeline was accepted");
}

test("parseDuration reads the documented forms and nothing else", () => {
  const good: [string, number][] = [
    ["500ms", 500],
    ["90s", 90_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1h1m1s1ms", 3_661_001],
    ["1.5h", 5_400_000],
    ["90", 90_000],
    ["0.25", 250],
    ["0s", 0],
  ];
  for (const [text, ms] of good) assert.equal(parseDuration(text), ms, text);
  for (const text of ["", "m", "5x", "5 m", "30m1h", "1m1m", "-5s", "1e3", "1h 30m", "5ms5m", " 5s", "5."]) {
    assert.equal(parseDuration(text), undefined, JSON.stringify(text));
  }
});

test("findCycle finds no cycle in a DAG and names the first cycle in file order", () => {
  const dag = [
    { name: "deploy", needs: ["test", "build"] },
    { name: "build", needs: [] },
    { name: "lint", needs: [] },
    { name: "test", needs: ["build"] },
  ];
  assert.equal(findCycle(dag), undefined);
  const loop = [
    { name: "a", needs: [] },
    { name: "b", needs: ["c"] },
    { name: "c", needs: ["d"] },
    { name: "d", needs: ["b"] },
  ];
  assert.deepEqual(findCycle(loop), ["b", "c", "d", "b"]);
});

describe("bounds and NUL: a small hostile file cannot make unbounded work or hide a command", () => {
  const jobs = (count: number, steps = "[x]") => Array.from({ length: count }, (_, i) => `  j${i}:\n    steps: ${steps}`);

  test("the limits are the documented ones", () => {
    assert.deepEqual(
      { ...PIPELINE_LIMITS, bytes: MAX_PIPELINE_BYTES },
      {
        jobs: 500,
        stepsPerJob: 1000,
        steps: 5000,
        runBytes: 65536,
        aliasNodes: 200_000,
        matrixLegs: 256,
        bytes: 1048576,
      },
    );
  });

  test("44 KB of aliases for a million steps is refused at the job past the limit, before its steps are expanded", () => {
    const text = yaml(
      "jobs:",
      "  j0:",
      `    steps: &s [${Array(1000).fill("x").join(", ")}]`,
      ...Array.from({ length: 1000 }, (_, i) => `  k${i}: { steps: *s }`),
    );
    assert.ok(text.length < 44_000);
    // Expanding the jobs' steps first would have spent the alias node budget, 200 jobs in, and said so.
    const error = assertRefused(text, "jobs", 4 + 499, 3);
    assert.match(error.message, /at most 500 jobs/);
  });

  test("at most 500 jobs: the 501st job's key is named", () => {
    parsePipeline(yaml("jobs:", ...jobs(500)), FILE);
    assertRefused(yaml("jobs:", ...jobs(501)), "jobs", 2 + 500 * 2, 3);
  });

  test("at most 1,000 steps in a job: the 1,001st step is named", () => {
    const steps = (n: number) => Array.from({ length: n }, (_, i) => `      - echo ${i}`);
    assert.equal(parsePipeline(yaml("jobs:", "  a:", "    steps:", ...steps(1000)), FILE).jobs[0]!.steps.length, 1000);
    const error = assertRefused(yaml("jobs:", "  a:", "    steps:", ...steps(1001)), "jobs.a.steps[1000]", 4 + 1000, 9);
    assert.match(error.message, /at most 1000 steps/);
  });

  test("at most 5,000 steps in all: the 5,001st is named", () => {
    const list = `[${Array(1000).fill("x").join(", ")}]`;
    parsePipeline(yaml("jobs:", ...jobs(5, list)), FILE);
    const error = assertRefused(yaml("jobs:", ...jobs(5, list), "  j5:", "    steps: [y]"), "jobs.j5.steps[0]", 13, 13);
    assert.match(error.message, /step 5001 of the pipeline.*at most 5000 steps in all/);
  });

  test("a run of at most 64 KiB (UTF-8 bytes)", () => {
    const fits = "#".repeat(64 * 1024);
    assert.equal(parsePipeline(yaml("jobs:", "  a:", "    steps:", `      - run: '${fits}'`), FILE).jobs[0]!.steps[0]!.run, fits);
    const error = assertRefused(
      yaml("jobs:", "  a:", "    steps:", `      - run: '${"é".repeat(32 * 1024)}x'`),
      "jobs.a.steps[0].run",
      4,
      14,
    );
    assert.match(error.message, /65537 bytes.*at most 65536 bytes/);
    assertRefused(yaml("jobs:", "  a:", "    steps:", `      - '${fits}#'`), "jobs.a.steps[0]", 4, 9);
  });

  test("aliases that expand past the node budget are refused at the alias, measured without expanding", () => {
    // Each level is ten of the one before: *l6 names ten million nodes in a few hundred bytes.
    const levels = [`      - &l0 [${Array(10).fill("x").join(", ")}]`];
    for (let i = 1; i <= 6; i++)
      levels.push(
        `      - &l${i} [${Array(10)
          .fill(`*l${i - 1}`)
          .join(", ")}]`,
      );
    // `env` is read before `steps`, so the alias is expanded before the lists are found not to be steps.
    const error = assertRefused(yaml("jobs:", "  a:", "    steps:", ...levels, "    env: *l6"), "jobs.a.env", 11, 10);
    assert.match(error.message, /aliases expand to more than 200000 YAML nodes/);
    // Many uses of one modest anchor add up too: 5,000 steps each naming a 60-variable env.
    const env = `    env: &e { ${Array.from({ length: 60 }, (_, i) => `V${i}: x`).join(", ")} }`;
    const steps = `[${Array(1000).fill("{ run: x, env: *e }").join(", ")}]`;
    const many = refusal(
      yaml("env: { A: x }", "jobs:", "  a:", env, `    steps: ${steps}`, ...jobs(4, steps).map((l) => l.replace(/^ {2}j/, "  k"))),
    );
    assert.match(many.message, /aliases expand to more than 200000 YAML nodes/);
  });

  test("an alias inside its own anchor, and a 30,000-long chain of anchors, are PipelineErrors, with the anchors found in one pass", () => {
    assertRefused(yaml("jobs:", "  a:", "    steps: &s [x, *s]"), "jobs.a.steps[1]", 3, 19);
    const chain = ["      - &z0 [x]"];
    for (let i = 1; i < 30_000; i++) chain.push(`      - &z${i} [*z${i - 1}]`);
    // Also pins alias lookup as one pass: yaml's Alias.resolve(doc) walks the document per alias (minutes here).
    const walk = () => assert.fail("an alias was looked up with Alias.resolve(doc), which walks the whole document");
    const error = withMethod(Alias.prototype, "resolve", walk, () =>
      refusal(yaml("jobs:", "  a:", "    steps:", ...chain, `    env: *z${chain.length - 1}`)),
    );
    assert.equal(error.code, "QUIRE_ERR_PIPELINE_INVALID");
    assert.equal(error.field, "jobs.a.env");
    assert.match(error.message, /got a list/);
  });

  test("a file over 1 MiB is refused before it is parsed", () => {
    const text = yaml("jobs:", "  a:", "    steps: [x]") + "#".repeat(MAX_PIPELINE_BYTES);
    const error = refusal(text);
    assert.equal(error.code, "QUIRE_ERR_PIPELINE_INVALID");
    assert.deepEqual([error.file, error.line], [FILE, null]);
    assert.match(error.message, /at most 1048576 bytes/);
  });

  test("a NUL in a command, an env value or a name is refused (it would cut the string short: `false\\0` passes)", () => {
    assertRefused(yaml("jobs:", "  a:", "    steps:", '      - run: "false\\0 && echo"'), "jobs.a.steps[0].run", 4, 14);
    assertRefused(yaml("jobs:", "  a:", "    steps:", '      - "false\\0"'), "jobs.a.steps[0]", 4, 9);
    assertRefused(yaml('env: { A: "x\\0y" }', "jobs:", "  a:", "    steps: [x]"), "env.A", 1, 11);
    assertRefused(yaml("jobs:", "  a:", '    env: { B: "\\0" }', "    steps: [x]"), "jobs.a.env.B", 3, 15);
    assertRefused(yaml("jobs:", "  a:", "    steps:", "      - run: x", '        env: { C: "\\0" }'), "jobs.a.steps[0].env.C", 5, 19);
    assertRefused(yaml("jobs:", "  a:", "    steps:", "      - run: x", '        name: "a\\0b"'), "jobs.a.steps[0].name", 5, 15);
    assertRefused(yaml('name: "ci\\0"', "jobs:", "  a:", "    steps: [x]"), "name", 1, 7);
    assertRefused(yaml('env: { "A\\0": x }', "jobs:", "  a:", "    steps: [x]"), "env.A\0", 1, 8);
    assertRefused(yaml("jobs:", '  "a\\0":', "    steps: [x]"), "jobs.a\0", 2, 3);
    assert.match(refusal(yaml("jobs:", "  a:", "    steps:", '      - run: "false\\0"')).message, /NUL/);
  });

  test("findCycle walks a 7,000-job chain of needs without recursion", () => {
    const chain = Array.from({ length: 7000 }, (_, i) => ({ name: `j${i}`, needs: i === 0 ? [] : [`j${i - 1}`] }));
    assert.equal(findCycle(chain), undefined);
    const reversed = [...chain].reverse(); // the search starts at the far end and goes all the way down
    assert.equal(findCycle(reversed), undefined);
    const loop = chain.map((job, i) => (i === 0 ? { name: "j0", needs: ["j6999"] } : job));
    const cycle = findCycle(loop)!;
    assert.equal(cycle.length, 7001);
    assert.deepEqual([cycle[0], cycle[1], cycle[6999], cycle[7000]], ["j0", "j6999", "j1", "j0"]);
  });

  test("500 jobs each needing every job before them parse, and a cycle among them is named", () => {
    const lines = Array.from(
      { length: 500 },
      (_, i) => `  j${i}: { needs: [${Array.from({ length: i }, (_, k) => `j${k}`).join(", ")}], steps: [x] }`,
    );
    const pipeline = parsePipeline(yaml("jobs:", ...lines), FILE);
    assert.equal(pipeline.jobs[499]!.needs.length, 499);
    lines[0] = "  j0: { needs: [j499], steps: [x] }";
    const error = refusal(yaml("jobs:", ...lines));
    assert.match(error.message, /needs form a cycle: j0 -> j499 -> j0/);
  });
});

describe("readPipelineFile", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "quire-pipeline-file-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("a FIFO, a directory and a file over 1 MiB are refused before reading (a FIFO does not block)", async () => {
    const fifo = join(dir, "fifo.yml");
    execFileSync("mkfifo", [fifo]);
    assert.match(refusalOf(() => readPipelineFile(fifo)).message, /not a regular file \(a FIFO\)/);
    assert.match(refusalOf(() => loadPipeline(dir)).message, /not a regular file \(a directory\)/);
    const big = join(dir, "big.yml");
    await writeFile(big, "#".repeat(MAX_PIPELINE_BYTES + 1));
    const error = refusalOf(() => loadPipeline(big));
    assert.deepEqual([error.file, error.line], [big, null]);
    assert.match(error.message, /1048577 bytes.*at most 1048576 bytes/);
  });
});

describe("cache.remote: where the job cache is shared", () => {
  const JOBS = ["jobs:", "  a:", "    steps: [make]"];
  const remote = (...lines: string[]) => yaml("cache:", "  remote:", ...lines.map((l) => `    ${l}`), ...JOBS);

  test("url, team and the secrets' names, with the default timeout; none without it", () => {
    const pipeline = parsePipeline(
      remote("url: https://cache.example.com/", "team: web", "token: TURBO_TOKEN", "signature-key: TURBO_KEY", "timeout: 3s"),
      FILE,
    );
    assert.deepEqual(pipeline.remoteCache, {
      url: "https://cache.example.com",
      team: "web",
      tokenSecret: "TURBO_TOKEN",
      signatureKeySecret: "TURBO_KEY",
      timeoutMs: 3000,
    });
    assert.deepEqual(parsePipeline(remote("url: http://127.0.0.1:3000", "team: t", "token: T"), FILE).remoteCache, {
      url: "http://127.0.0.1:3000",
      team: "t",
      tokenSecret: "T",
      signatureKeySecret: null,
      timeoutMs: REMOTE_CACHE_TIMEOUT_MS,
    });
    assert.equal(parsePipeline(yaml(...JOBS), FILE).remoteCache, null);
  });

  test("a token written in the file is refused: the file names a secret, never a value", () => {
    const error = assertRefused(remote("url: https://c.example.com", "team: t", "token: s3cr3t-t0ken"), "cache.remote.token", 5, 12);
    assert.match(error.message, /not a secret's name; expected the name of a quire secret/);
    assert.ok(!error.message.includes("s3cr3t-t0ken"), "the value is not repeated in the message");
  });

  test("a URL with credentials in it is refused, without repeating them: the token is the server's credential", () => {
    const error = assertRefused(remote("url: https://user:pa55word@c.example.com", "team: t", "token: T"), "cache.remote.url", 3, 10);
    assert.match(error.message, /without credentials/);
    assert.ok(!error.message.includes("pa55word"), error.message);
  });

  test("what else is wrong is refused where it is", () => {
    assertRefused(remote("url: ftp://c.example.com", "team: t", "token: T"), "cache.remote.url", 3, 10);
    assertRefused(remote("url: https://c.example.com?team=x", "team: t", "token: T"), "cache.remote.url", 3, 10);
    assertRefused(remote("url: https://c.example.com", "team: a b", "token: T"), "cache.remote.team", 4, 11);
    assertRefused(remote("url: https://c.example.com", "token: T"), "cache.remote.team", 3, 5);
    assertRefused(remote("url: https://c.example.com", "team: t", "token: T", "signature-key: key"), "cache.remote.signature-key", 6, 20);
    assertRefused(remote("url: https://c.example.com", "team: t", "token: T", "tokn: T"), "cache.remote.tokn", 6, 5);
    assertRefused(yaml("cache:", "  local: {}", ...JOBS), "cache.local", 2, 3);
  });
});
