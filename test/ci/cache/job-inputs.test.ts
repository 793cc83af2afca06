// A job's inputs: the hash changes with each thing its result depends on and with nothing else, and the
// tree part comes from the snapshot of a real git repository: the whole tree, or the subtrees `inputs:` names.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { withInputTrees } from "../../../src/ci/cache/input-trees.js";
import { jobInputs, type JobInputsOf } from "../../../src/ci/cache/job-inputs.js";
import { parsePipeline } from "../../../src/ci/pipeline/parse.js";
import { ObjectStores } from "../../../src/ci/workspace/object-stores.js";
import { snapshotSource } from "../../../src/ci/workspace/snapshot.js";
import { git, tempRepos, writeFiles } from "../../helpers/git.js";

const repos = tempRepos();

const PIPELINE = [
  "env: { A: '1' }",
  "jobs:",
  "  build:",
  "    env: { B: '2' }",
  "    secrets: [TOKEN]",
  "    steps: [make]",
  "  test:",
  "    needs: [build]",
  "    inputs: [src, package.json]",
  "    steps: [make test]",
].join("\n");

function inputsOf(over: Partial<JobInputsOf> = {}, yaml = PIPELINE): string | null {
  const pipeline = parsePipeline(yaml, "quire.yml");
  const job = { ...pipeline.jobs[0]!, inputTree: "tree-1" };
  return jobInputs({ repo: "/repo", pipeline, job, dir: ".", needs: [], ...over });
}

test("the inputs' hash changes with the definition, the pipeline's env, the tree, the needs and the repository", () => {
  const base = inputsOf();
  assert.match(base!, /^[0-9a-f]{64}$/);
  assert.equal(inputsOf(), base, "the same inputs, the same hash");
  const pipeline = parsePipeline(PIPELINE, "quire.yml");
  const job = { ...pipeline.jobs[0]!, inputTree: "tree-1" };
  const changed: [string, string | null][] = [
    ["a step", inputsOf({}, PIPELINE.replace("steps: [make]", "steps: [make all]"))],
    ["the job's env", inputsOf({}, PIPELINE.replace("B: '2'", "B: '3'"))],
    ["the pipeline's env", inputsOf({}, PIPELINE.replace("A: '1'", "A: '0'"))],
    ["a secret's name", inputsOf({}, PIPELINE.replace("[TOKEN]", "[OTHER]"))],
    ["the tree", inputsOf({ job: { ...job, inputTree: "tree-2" } })],
    ["where the steps start", inputsOf({ dir: "sub" })],
    ["the repository", inputsOf({ repo: "/elsewhere" })],
    ["a need's inputs", inputsOf({ needs: [{ name: "dep", inputs: "a".repeat(64) }] })],
  ];
  for (const [what, hash] of changed) assert.notEqual(hash, base, what);
  assert.equal(inputsOf({ job: { ...job, inputTree: null } }), null, "no tree: not known");
  assert.equal(inputsOf({ needs: [{ name: "dep", inputs: null }] }), null, "a need that did not succeed: not known");
  const two = [
    { name: "a", inputs: "1".repeat(64) },
    { name: "b", inputs: "2".repeat(64) },
  ];
  assert.equal(inputsOf({ needs: two }), inputsOf({ needs: [...two].reverse() }), "needs in any order");
});

test("the tree part: the run's tree, or the entries at the job's inputs paths, so only a change there changes it", async () => {
  const repo = repos.make({ "ci/quire.yml": PIPELINE, "ci/src/a.js": "a", "ci/package.json": "{}", "ci/README": "docs" });
  const stores = new ObjectStores(repos.dir("git"));
  const treesOf = async () => {
    const snapshot = await snapshotSource(repo, { stores });
    const pipeline = await withInputTrees(parsePipeline(PIPELINE, `${repo}/ci/quire.yml`), snapshot, `${repo}/ci`);
    return { tree: snapshot.kind === "git" ? snapshot.tree : "", build: pipeline.jobs[0]!.inputTree, test: pipeline.jobs[1]!.inputTree };
  };
  const before = await treesOf();
  assert.equal(before.build, before.tree, "no inputs: the whole tree");
  assert.match(before.test!, /^[0-9a-f]{64}$/);

  writeFiles(repo, { "ci/README": "more docs" });
  const docs = await treesOf();
  assert.notEqual(docs.build, before.build);
  assert.equal(docs.test, before.test, "a change outside the inputs paths");

  writeFiles(repo, { "ci/src/b.js": "b" });
  const source = await treesOf();
  assert.notEqual(source.test, before.test, "a new file under an inputs path");

  rmSync(`${repo}/ci/package.json`);
  assert.notEqual((await treesOf()).test, source.test, "an inputs path that is gone counts too");

  const plain = repos.dir("plain");
  const pipeline = await withInputTrees(parsePipeline(PIPELINE, `${plain}/quire.yml`), await snapshotSource(plain, { stores }), plain);
  assert.deepEqual(
    pipeline.jobs.map((j) => j.inputTree),
    [null, null],
    "a directory outside git has no tree: never cached",
  );
});

test("a change in a checked-out submodule's working copy changes the inputs that hold it, though the parent's tree names only its commit", async () => {
  const upstream = repos.make({ "lib.js": "v1" });
  const pipeline = [
    "jobs:",
    "  all:",
    "    steps: [make]",
    "  lib:",
    "    inputs: [vendor]",
    "    steps: [make]",
    "  app:",
    "    inputs: [app]",
    "    steps: [make]",
  ].join("\n");
  const repo = repos.make({ "quire.yml": pipeline, "app/main.js": "main" });
  git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", upstream, "vendor/lib");
  git(repo, "commit", "-q", "-m", "a submodule");
  const stores = new ObjectStores(repos.dir("git"));
  const treesOf = async () =>
    (await withInputTrees(parsePipeline(pipeline, `${repo}/quire.yml`), await snapshotSource(repo, { stores }), repo)).jobs.map(
      (j) => j.inputTree,
    );
  const [all, lib, app] = await treesOf();
  writeFiles(join(repo, "vendor/lib"), { "lib.js": "v2, not committed in the submodule" });
  const [all2, lib2, app2] = await treesOf();
  assert.notEqual(all2, all, "the whole tree, submodules' working copies included");
  assert.notEqual(lib2, lib, "an inputs path holding the submodule");
  assert.equal(app2, app, "an inputs path that does not");
});

test("the remote cache's key leaves the repository's path out: every clone shares it, and it is not the local inputs", () => {
  const key = inputsOf({ repo: null });
  assert.match(key!, /^[0-9a-f]{64}$/);
  assert.notEqual(key, inputsOf({ repo: "/repo" }));
  assert.notEqual(inputsOf({ repo: "/home/a/app" }), inputsOf({ repo: "/home/b/app" }));
  assert.equal(inputsOf({ repo: null }), key, "the same wherever the repository is");
  assert.notEqual(inputsOf({ repo: null, dir: "web" }), key, "where the steps start is still an input");
});
