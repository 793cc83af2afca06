// Whether a push runs a workflow, as GitHub decides it: the filter patterns of its cheat sheet, and
// on.push / on.pull_request with branches, tags and paths and their -ignore twins. Pure: no git, no daemon.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compilePattern, selects } from "../../../src/ci/triggers/filter-pattern.js";
import { pushTriggers, type PushEvent } from "../../../src/ci/triggers/push-filter.js";

const matches = (patterns: string[], name: string) => selects(patterns.map(compilePattern), name);

describe("filter patterns", () => {
  // GitHub's "Patterns to match branches and tags" and "Patterns to match file paths" tables.
  const cases: [string, string[], string[]][] = [
    ["feature/*", ["feature/my-branch", "feature/your-branch"], ["feature/a/b", "feature", "xfeature/a"]],
    ["feature/**", ["feature/beta-a/my-branch", "feature/your-branch", "feature/mona/the/octocat"], ["feature", "features/x"]],
    ["main", ["main"], ["main2", "xmain", "releases/main"]],
    ["releases/mona-the-octocat", ["releases/mona-the-octocat"], ["releases/mona-the-octocatx"]],
    ["*", ["main", "releases"], ["releases/10", "feature/x"]],
    ["**", ["all/the/branches", "every/tag", "main"], []],
    ["*feature", ["mona-feature", "feature", "ver-10-feature"], ["feature/x"]],
    ["v2*", ["v2", "v2.0", "v2.9"], ["v3", "v12"]],
    ["v[12].[0-9]+.[0-9]+", ["v1.10.1", "v2.0.0"], ["v3.0.0", "v1.x.1", "v1.10"]],
    ["[CB]at", ["Cat", "Bat"], ["Hat", "at"]],
    ["[1-2]00", ["100", "200"], ["300"]],
    ["v?1", ["v1", "1"], ["vv1", "v21"]],
    ["ab+c", ["abc", "abbbc"], ["ac"]],
    ["*.js", ["app.js", "index.js"], ["js/index.js", "src/js/app.js"]],
    ["**.js", ["index.js", "js/index.js", "src/js/app.js"], ["index.ts"]],
    ["docs/*", ["docs/README.md", "docs/file.txt"], ["docs/a/b.md", "README.md"]],
    ["docs/**", ["docs/README.md", "docs/mona/octocat.txt"], ["README.md", "other/docs/x"]],
    ["docs/**/*.md", ["docs/README.md", "docs/mona/hello-world.md", "docs/a/markdown/file.md"], ["docs/a.txt"]],
    ["**/docs/**", ["docs/hello.md", "dir/docs/my-file.txt", "space/docs/plan/space.doc"], ["README.md"]],
    ["**/README.md", ["README.md", "js/README.md"], ["README.mdx"]],
    ["**/*src/**", ["a/src/app.js", "my-src/code/js/app.js"], ["src2/x"]],
    ["**/*-post.md", ["my-post.md", "path/their-post.md"], ["post.md"]],
    ["**/migrate-*.sql", ["migrate-10909.sql", "db/migrate-v1.0.sql", "db/sept/migrate-v1.sql"], ["migrate.sql"]],
    ["a\\*b", ["a*b"], ["axb"]],
    ["x.y(z)", ["x.y(z)"], ["xxy(z)"]],
  ];
  for (const [pattern, yes, no] of cases) {
    test(`${pattern}`, () => {
      for (const name of yes) assert.ok(matches([pattern], name), `${pattern} matches ${name}`);
      for (const name of no) assert.ok(!matches([pattern], name), `${pattern} does not match ${name}`);
    });
  }

  test("patterns are read in order: a later ! drops a match, a later positive match takes it back", () => {
    const patterns = ["releases/**", "!releases/**-alpha", "releases/special-alpha"];
    assert.ok(matches(patterns, "releases/10"));
    assert.ok(!matches(patterns, "releases/10-alpha"));
    assert.ok(matches(patterns, "releases/special-alpha"));
    assert.ok(!matches(patterns, "main"));
    // A negation first selects nothing by itself.
    assert.ok(!matches(["!main"], "dev"));
  });
});

const branch = (name: string, paths: string[] | null = ["src/app.js"], baseBranch: string | null = "main"): PushEvent => ({
  ref: `refs/heads/${name}`,
  paths,
  baseBranch,
});
const tag = (name: string): PushEvent => ({ ref: `refs/tags/${name}`, paths: ["src/app.js"], baseBranch: "main" });
const runs = (on: unknown, event: PushEvent) => pushTriggers(on, event).runs;

describe("on.push", () => {
  test("`on` as one event, a list or a mapping without filters takes every branch and tag", () => {
    for (const on of ["push", ["push", "workflow_dispatch"], { push: null }, { push: {} }]) {
      assert.ok(runs(on, branch("main")), JSON.stringify(on));
      assert.ok(runs(on, branch("feature/x")), JSON.stringify(on));
      assert.ok(runs(on, tag("v1")), JSON.stringify(on));
    }
  });

  test("a workflow on neither push nor pull_request is not run by a push, and says so", () => {
    for (const on of ["workflow_dispatch", ["schedule"], { release: { types: ["published"] } }]) {
      const decision = pushTriggers(on, branch("main"));
      assert.equal(decision.runs, false);
      assert.match(decision.reason, /neither push nor pull_request/);
    }
    assert.equal(runs(42, branch("main")), false);
  });

  test("branches and branches-ignore", () => {
    const on = { push: { branches: ["main", "releases/**"] } };
    assert.ok(runs(on, branch("main")));
    assert.ok(runs(on, branch("releases/v1/x")));
    assert.ok(!runs(on, branch("feature")));
    const ignore = { push: { "branches-ignore": ["wip/*", "!wip/keep"] } };
    assert.ok(runs(ignore, branch("main")));
    assert.ok(!runs(ignore, branch("wip/x")));
    assert.ok(runs(ignore, branch("wip/keep")));
    // One string for a list of one.
    assert.ok(runs({ push: { branches: "main" } }, branch("main")));
  });

  test("only branch filters: no tag runs it; only tag filters: no branch runs it", () => {
    assert.ok(!runs({ push: { branches: ["**"] } }, tag("v1")));
    assert.ok(!runs({ push: { tags: ["v*"] } }, branch("main")));
    assert.ok(runs({ push: { tags: ["v*"] } }, tag("v1.2")));
    assert.ok(!runs({ push: { tags: ["v*"] } }, tag("nightly")));
    assert.ok(!runs({ push: { "tags-ignore": ["nightly*"] } }, tag("nightly-1")));
    assert.ok(runs({ push: { "tags-ignore": ["nightly*"] } }, tag("v1")));
    assert.ok(runs({ push: { branches: ["main"], tags: ["v*"] } }, tag("v2")));
    assert.ok(runs({ push: { branches: ["main"], tags: ["v*"] } }, branch("main")));
  });

  test("paths and paths-ignore: any changed file taken runs it; every file ignored does not; tags skip path filters", () => {
    const on = { push: { paths: ["src/**", "!src/**/*.md"] } };
    assert.ok(runs(on, branch("main", ["README.md", "src/a.js"])));
    assert.ok(!runs(on, branch("main", ["README.md", "src/docs/a.md"])));
    assert.ok(!runs(on, branch("main", [])), "no file changed");
    const ignore = { push: { "paths-ignore": ["docs/**", "*.md"] } };
    assert.ok(!runs(ignore, branch("main", ["docs/a.txt", "README.md"])));
    assert.ok(runs(ignore, branch("main", ["docs/a.txt", "src/x.ts"])));
    assert.ok(runs({ push: { paths: ["src/**"] } }, tag("v1")), "a tag push is not path-filtered");
    const unknown = pushTriggers(on, branch("main", null));
    assert.equal(unknown.runs, true);
    assert.match(unknown.reason, /not known/);
  });

  test("branches and paths together: both must hold", () => {
    const on = { push: { branches: ["main"], paths: ["src/**"] } };
    assert.ok(runs(on, branch("main", ["src/a"])));
    assert.ok(!runs(on, branch("main", ["docs/a"])));
    assert.ok(!runs(on, branch("dev", ["src/a"])));
  });

  test("a filter with its -ignore twin is refused, as GitHub refuses the workflow", () => {
    for (const filters of [
      { branches: ["a"], "branches-ignore": ["b"] },
      { tags: ["a"], "tags-ignore": ["b"] },
      { paths: ["a"], "paths-ignore": ["b"] },
    ]) {
      const decision = pushTriggers({ push: filters }, branch("a", ["a"]));
      assert.equal(decision.runs, false);
      assert.match(decision.reason, /cannot both be given/);
    }
  });
});

describe("on.pull_request", () => {
  test("a pushed branch other than the base runs it; the base itself and tags do not", () => {
    assert.ok(runs("pull_request", branch("feature")));
    assert.ok(!runs("pull_request", branch("main")));
    assert.ok(!runs("pull_request", tag("v1")));
  });

  test("its branches name the branch a pull request goes into", () => {
    const on = { pull_request: { branches: ["main"] } };
    assert.ok(runs(on, branch("feature", ["a"], "main")));
    assert.ok(!runs(on, branch("feature", ["a"], "develop")));
    const unknownBase = pushTriggers(on, branch("feature", ["a"], null));
    assert.equal(unknownBase.runs, false);
    assert.match(unknownBase.reason, /default branch is not known/);
    assert.ok(runs("pull_request", branch("feature", ["a"], null)), "no branch filter: the base does not matter");
    assert.ok(!runs({ pull_request: { "branches-ignore": ["main"] } }, branch("feature")));
  });

  test("types a push cannot make, and path filters", () => {
    assert.ok(!runs({ pull_request: { types: ["labeled", "closed"] } }, branch("feature")));
    assert.ok(runs({ pull_request: { types: ["synchronize"] } }, branch("feature")));
    assert.ok(!runs({ pull_request: { paths: ["src/**"] } }, branch("feature", ["docs/x"])));
    assert.ok(runs({ pull_request: { paths: ["src/**"] } }, branch("feature", ["src/x"])));
  });

  test("push or pull_request: either one taking the push runs it", () => {
    const on = { push: { branches: ["main"] }, pull_request: { branches: ["main"] } };
    assert.ok(runs(on, branch("main")), "push to main");
    assert.ok(runs(on, branch("feature")), "a pull request of feature into main");
    const decision = pushTriggers({ push: { branches: ["main"] }, pull_request: { paths: ["src/**"] } }, branch("feature", ["docs/a"]));
    assert.equal(decision.runs, false);
    assert.match(decision.reason, /on\.push's branches do not take branch feature; on\.pull_request's paths take none/);
  });
});
