// `quirectl run` from a subdirectory of a repository runs the quire.yml at the repository's root (a
// first-day report: it looked only in the directory it was run from); one in the directory itself wins.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos, writeFiles } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
before(async () => {
  daemon = await startTestDaemon();
  repo = repos.make({
    "quire.yml": "name: root\njobs:\n  where:\n    steps:\n      - test -f quire.yml && test -d src/deep\n",
    "src/deep/file.txt": "x\n",
  });
});
after(async () => {
  await daemon?.stop();
});

test("from a subdirectory: the root's quire.yml, run from the root of the workspace", async () => {
  const run = await quirectlJson(daemon.home, ["run", "--wait"], 0, { cwd: join(repo, "src", "deep") });
  assert.equal(run.pipeline, "root");
  assert.equal(run.pipeline_file, join(repo, "quire.yml"));
  assert.equal(run.state, "complete", run.failure_summary);
});

test("a quire.yml in the directory itself is the one run", async () => {
  writeFiles(repo, { "src/quire.yml": "name: sub\njobs:\n  here:\n    steps:\n      - test -d deep\n" });
  const run = await quirectlJson(daemon.home, ["run", "--wait"], 0, { cwd: join(repo, "src") });
  assert.equal(run.pipeline, "sub");
  assert.equal(run.state, "complete", run.failure_summary);
});

test("outside a repository, with no quire.yml here: exit 2 saying how to name one", async () => {
  const dir = repos.dir("outside");
  mkdirSync(join(dir, "empty"));
  const r = await quirectl(daemon.home, ["run"], { cwd: join(dir, "empty") });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /quire\.yml: no such pipeline file; write one \(see README\) or name it: quirectl run FILE/);
});
