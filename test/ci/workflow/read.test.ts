// The workflow reader: real workflow files, written like those of small npm libraries, read into the
// pipeline model; everything quire cannot do refused at once, each finding at its line and column.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PipelineFindingsError } from "../../../src/ci/errors.js";
import { expandMatrix, legName } from "../../../src/ci/workflow/matrix.js";
import { readWorkflow } from "../../../src/ci/workflow/read.js";
import { selectJobs } from "../../../src/ci/pipeline/select.js";

const FILE = ".github/workflows/ci.yml";
const lines = (...text: string[]) => `${text.join("\n")}\n`;

function findings(text: string): string[] {
  try {
    readWorkflow(text, FILE);
  } catch (error) {
    assert.ok(error instanceof PipelineFindingsError, String(error));
    assert.equal(error.code, "QUIRE_ERR_PIPELINE_INVALID");
    return error.findings.map((f) => f.message);
  }
  assert.fail("the workflow was accepted");
}

const NODE_LIBRARY = lines(
  "name: CI",
  "on:",
  "  push:",
  "    branches: [main]",
  "  pull_request:",
  "permissions:",
  "  contents: read",
  "concurrency:",
  "  group: ci-${{ github.ref }}",
  "  cancel-in-progress: true",
  "env:",
  "  FORCE_COLOR: 1",
  "jobs:",
  "  lint:",
  "    runs-on: ubuntu-latest",
  "    steps:",
  "      - uses: actions/checkout@v4",
  "      - uses: actions/setup-node@v4",
  "        with:",
  "          node-version: 20",
  "          cache: npm",
  "      - run: npm ci",
  "      - run: npm run lint",
  "  test:",
  "    needs: lint",
  "    name: test",
  "    runs-on: ${{ matrix.os }}",
  "    timeout-minutes: 10",
  "    strategy:",
  "      fail-fast: false",
  "      matrix:",
  "        node: [18, 20, 22]",
  "        os: [ubuntu-latest, windows-latest]",
  "        exclude:",
  "          - os: windows-latest",
  "            node: 18",
  "    steps:",
  "      - uses: actions/checkout@v4",
  "      - name: Use Node ${{ matrix.node }}",
  "        uses: actions/setup-node@v4",
  "        with: { node-version: '${{ matrix.node }}' }",
  "      - run: npm ci",
  "      - id: t",
  "        run: npm test -- --reporter=${{ matrix.node == 22 && 'spec' || 'dot' }}",
  "      - if: failure()",
  "        run: echo tests failed on ${{ matrix.os }}",
);

describe("a typical npm library's workflow", () => {
  const pipeline = readWorkflow(NODE_LIBRARY, FILE);

  test("is read as a GitHub workflow with its triggers and concurrency recorded", () => {
    assert.equal(pipeline.kind, "github");
    assert.equal(pipeline.name, "CI");
    assert.deepEqual(pipeline.on, { push: { branches: ["main"] }, pull_request: null });
    assert.deepEqual(pipeline.concurrency, { group: "ci-${{ github.ref }}", cancelInProgress: true });
    assert.deepEqual(pipeline.env, { FORCE_COLOR: "1" });
  });

  test("a job name that uses the matrix names each leg with it", () => {
    const named = readWorkflow(NODE_LIBRARY.replace("    name: test\n", "    name: Node ${{ matrix.node }} on ${{ matrix.os }}\n"), FILE);
    assert.deepEqual(
      named.jobs.slice(1, 3).map((j) => j.name),
      ["Node 18 on ubuntu-latest", "Node 20 on ubuntu-latest"],
    );
  });

  test("each matrix leg is a job named as GitHub shows it; other OS legs are skipped with the reason", () => {
    assert.deepEqual(
      pipeline.jobs.map((j) => j.name),
      [
        "lint",
        "test (18, ubuntu-latest)",
        "test (20, ubuntu-latest)",
        "test (20, windows-latest)",
        "test (22, ubuntu-latest)",
        "test (22, windows-latest)",
      ],
    );
    const windows = pipeline.jobs.find((j) => j.name === "test (20, windows-latest)")!;
    assert.match(windows.skipReason ?? "", /runs-on windows-latest/);
    const linux = pipeline.jobs.find((j) => j.name === "test (20, ubuntu-latest)")!;
    assert.equal(linux.skipReason, null);
    assert.deepEqual(linux.matrix, { node: 20, os: "ubuntu-latest" });
    assert.deepEqual(linux.strategy, { failFast: false, maxParallel: null, index: 1, total: 5 });
    assert.deepEqual(linux.needs, ["lint"]);
    assert.equal(linux.group, "test");
    assert.equal(linux.timeoutMs, 600_000);
  });

  test("steps keep their expressions, conditions and actions for the runner", () => {
    const test = pipeline.jobs[1]!;
    assert.deepEqual(
      test.steps.map((s) => s.action?.adapter ?? null),
      ["checkout", "setup-node", null, null, null],
    );
    assert.deepEqual(test.steps[1]!.action!.with, { "node-version": "${{ matrix.node }}" });
    assert.equal(test.steps[1]!.name, "Use Node 18", "a step name that uses only the matrix is the leg's own");
    assert.equal(test.steps[3]!.id, "t");
    assert.equal(test.steps[4]!.condition, "failure()");
    assert.equal(pipeline.jobs[0]!.steps[2]!.name, "Run npm ci");
  });
});

test("every finding at once, each with its line, column, key and why", () => {
  const text = lines(
    "on: push",
    "jobs:",
    "  build:",
    "    runs-on: ubuntu-latest",
    "    services:",
    "      db: { image: postgres }",
    "    steps:",
    "      - uses: actions/upload-artifact@v4",
    "      - run: echo ${{ nosuch.value }}",
    "      - run: echo ${{ matrix.os ==  }}",
    "        bogus: 1",
    "  deploy:",
    "    needs: [biuld]",
    "    runs-on: ubuntu-latest",
    "    steps:",
    "      - uses: docker://alpine:3",
  );
  const found = findings(text);
  const expect = [
    /ci\.yml:5:5: jobs\.build\.services: `services` needs a container engine/,
    /ci\.yml:8:15: jobs\.build\.steps\[0\]\.uses: `actions\/upload-artifact@v4` is not run here; artifacts/,
    /ci\.yml:9:14: jobs\.build\.steps\[1\]\.run: Unrecognized named-value: 'nosuch'/,
    /ci\.yml:10:14: jobs\.build\.steps\[2\]\.run: Unexpected end of expression/,
    /ci\.yml:11:9: jobs\.build\.steps\[2\]\.bogus: not a key of a GitHub workflow here/,
    /ci\.yml:13:13: jobs\.deploy\.needs: `biuld` is not a job of this workflow/,
    /ci\.yml:16:15: jobs\.deploy\.steps\[0\]\.uses: `docker:\/\/alpine:3` is not run here; a container action needs a container engine/,
  ];
  for (const pattern of expect)
    assert.ok(
      found.some((f) => pattern.test(f)),
      `${pattern} not in:\n${found.join("\n")}`,
    );
  assert.equal(found.length, expect.length, found.join("\n"));
});

test("actions/cache, actions/cache/restore and actions/cache/save are quire's dependency caches; what they cannot do is refused", () => {
  const workflow = (...steps: string[]) => lines("on: push", "jobs:", "  build:", "    runs-on: ubuntu-latest", "    steps:", ...steps);
  const read = readWorkflow(
    workflow(
      "      - uses: actions/cache@v4",
      "        id: deps",
      "        with:",
      "          path: |",
      "            node_modules",
      "            .cache/tool",
      "          key: deps-${{ hashFiles('package-lock.json') }}",
      "          restore-keys: deps-",
      "      - uses: actions/cache/restore@v4",
      "        with: { path: out, key: 'out-${{ github.sha }}' }",
      "      - uses: actions/cache/save@v4",
      "        with: { path: out, key: out }",
    ),
    FILE,
  );
  assert.deepEqual(
    read.jobs[0]!.steps.map((s) => s.action?.adapter),
    ["cache", "cache-restore", "cache-save"],
  );
  assert.deepEqual(read.jobs[0]!.steps[0]!.action!.with, {
    path: "node_modules\n.cache/tool\n",
    key: "deps-${{ hashFiles('package-lock.json') }}",
    "restore-keys": "deps-",
  });

  const found = findings(
    workflow(
      "      - uses: actions/cache@v4",
      "      - uses: actions/cache@v4",
      "        with:",
      "          key: k",
      "          path: |",
      "            node_modules",
      "            ~/.npm",
      "            /etc",
      "          save-always: true",
      "      - uses: actions/cache/other@v4",
    ),
  );
  const expect = [
    /ci\.yml:6:9: jobs\.build\.steps\[0\]\.with\.key: actions\/cache needs `key`/,
    /ci\.yml:6:9: jobs\.build\.steps\[0\]\.with\.path: actions\/cache needs `path`/,
    /ci\.yml:8:9: jobs\.build\.steps\[1\]\.with\.path: `~\/\.npm` is not a path quire caches; a cache holds files and directories inside the run's workspace/,
    /ci\.yml:8:9: jobs\.build\.steps\[1\]\.with\.path: `\/etc` is not a path quire caches/,
    /ci\.yml:14:11: jobs\.build\.steps\[1\]\.with\.save-always: actions\/cache has no input `save-always` that quire knows/,
    /ci\.yml:15:15: jobs\.build\.steps\[2\]\.uses: `actions\/cache\/other@v4` is not run here/,
  ];
  for (const pattern of expect)
    assert.ok(
      found.some((f) => pattern.test(f)),
      `${pattern} not in:\n${found.join("\n")}`,
    );
  assert.equal(found.length, expect.length, found.join("\n"));
});

test("a context a key may not use is refused: matrix in a workflow-level env, steps in a job's if", () => {
  const found = findings(
    lines(
      "on: push",
      "env:",
      "  A: ${{ matrix.x }}",
      "jobs:",
      "  a:",
      "    if: steps.x.outcome == 'success'",
      "    runs-on: ubuntu-latest",
      "    steps: [{ run: 'true' }]",
    ),
  );
  assert.ok(
    found.some((f) => /ci\.yml:3:6: env\.A: Unrecognized named-value: 'matrix'/.test(f)),
    found.join("\n"),
  );
  assert.ok(
    found.some((f) => /ci\.yml:6:9: jobs\.a\.if: Unrecognized named-value: 'steps'/.test(f)),
    found.join("\n"),
  );
});

describe("matrix expansion follows GitHub's rules", () => {
  test("include adds to every leg it does not change, or stands alone", () => {
    const legs = expandMatrix({
      axes: [
        ["fruit", ["apple", "pear"]],
        ["animal", ["cat", "dog"]],
      ],
      include: [
        { color: "green" },
        { color: "pink", animal: "cat" },
        { fruit: "apple", shape: "circle" },
        { fruit: "banana" },
        { fruit: "banana", animal: "cat" },
      ],
      exclude: [],
    });
    assert.deepEqual(legs, [
      { fruit: "apple", animal: "cat", color: "pink", shape: "circle" },
      { fruit: "apple", animal: "dog", color: "green", shape: "circle" },
      { fruit: "pear", animal: "cat", color: "pink" },
      { fruit: "pear", animal: "dog", color: "green" },
      { fruit: "banana" },
      { fruit: "banana", animal: "cat" },
    ]);
  });

  test("exclude removes every leg a partial entry matches", () => {
    const legs = expandMatrix({
      axes: [
        ["os", ["a", "b"]],
        ["v", [1, 2, 3]],
      ],
      include: [],
      exclude: [{ v: 2 }, { os: "b", v: 3 }],
    });
    assert.deepEqual(legs, [
      { os: "a", v: 1 },
      { os: "a", v: 3 },
      { os: "b", v: 1 },
    ]);
  });

  test("legs are named by their values in order", () => {
    assert.equal(legName("test", { node: 20, os: "ubuntu-latest" }), "test (20, ubuntu-latest)");
    assert.equal(legName("test", {}), "test");
  });
});

describe("what is known once a job is ready is left for then", () => {
  test("a matrix computed by expressions is one job until then, named by its id; its expressions are checked now", () => {
    const pipeline = readWorkflow(
      lines(
        "on: push",
        "jobs:",
        "  setup:",
        "    runs-on: ubuntu-latest",
        "    steps: [{ run: 'true' }]",
        "  whole:",
        "    needs: setup",
        "    name: Test ${{ matrix.node }}",
        "    runs-on: ubuntu-latest",
        "    strategy: { max-parallel: 2, matrix: '${{ fromJSON(needs.setup.outputs.matrix) }}' }",
        "    steps: [{ run: 'true' }]",
        "  lists:",
        "    needs: setup",
        "    runs-on: ubuntu-latest",
        "    strategy:",
        "      matrix:",
        "        node: ${{ fromJSON(needs.setup.outputs.versions) }}",
        "        include: [{ node: 24, extra: yes }]",
        "    steps: [{ run: 'true' }]",
      ),
      FILE,
    );
    const [, whole, lists] = pipeline.jobs;
    assert.equal(whole!.name, "whole");
    assert.deepEqual(whole!.deferred, { matrix: "${{ fromJSON(needs.setup.outputs.matrix) }}", name: "Test ${{ matrix.node }}" });
    assert.deepEqual(whole!.strategy, { failFast: true, maxParallel: 2, index: 0, total: 0 });
    assert.deepEqual(lists!.deferred, {
      matrix: { node: "${{ fromJSON(needs.setup.outputs.versions) }}", include: [{ node: 24, extra: "yes" }] },
      name: null,
    });
    const found = findings(
      lines(
        "on: push",
        "jobs:",
        "  a:",
        "    runs-on: ubuntu-latest",
        "    strategy: { matrix: '${{ fromJSON(steps.x.outputs.m) }}' }",
        "    steps: [{ run: 'true' }]",
      ),
    );
    assert.ok(
      found.some((f) => /ci\.yml:5:25: jobs\.a\.strategy\.matrix: Unrecognized named-value: 'steps'/.test(f)),
      found.join("\n"),
    );
  });

  test("names: what uses only the inputs' defaults and the matrix now, `github` and `needs` once ready, `steps` as the step starts", () => {
    const pipeline = readWorkflow(
      lines(
        "on:",
        "  workflow_dispatch:",
        "    inputs: { target: { default: staging } }",
        "jobs:",
        "  deploy:",
        "    name: Deploy to ${{ inputs.target || 'nowhere' }}",
        "    runs-on: ubuntu-latest",
        "    steps:",
        "      - name: Use ${{ inputs.other || 'the default' }}",
        "        run: 'true'",
        "      - name: On ${{ runner.os }}",
        "        run: echo ${{ inputs.target }}",
        "      - run: echo ${{ inputs.target }}",
        "  ref:",
        "    name: Build ${{ github.ref_name }}",
        "    runs-on: ubuntu-latest",
        "    steps: [{ run: 'true' }]",
      ),
      FILE,
    );
    const [deploy, ref] = pipeline.jobs;
    assert.equal(deploy!.name, "Deploy to staging");
    assert.equal(deploy!.deferred, null);
    // A name made of a step's `run` is shown as written, as on GitHub.
    assert.deepEqual(
      deploy!.steps.map((s) => s.name),
      ["Use the default", "On ${{ runner.os }}", "Run echo ${{ inputs.target }}"],
    );
    assert.equal(ref!.name, "ref");
    assert.deepEqual(ref!.deferred, { matrix: null, name: "Build ${{ github.ref_name }}" });
  });
});

test("--matrix cannot pick the legs of a matrix computed when its job is ready, and says so", () => {
  const pipeline = readWorkflow(
    lines(
      "on: push",
      "jobs:",
      "  test:",
      "    runs-on: ubuntu-latest",
      "    strategy: { matrix: { node: '${{ fromJSON(github.event_name) }}' } }",
      "    steps: [{ run: 'true' }]",
    ),
    FILE,
  );
  assert.throws(
    () => selectJobs(pipeline, { jobs: ["test"], matrix: { node: "20" } }),
    /matrix of `test` is computed when the job is ready/,
  );
});
