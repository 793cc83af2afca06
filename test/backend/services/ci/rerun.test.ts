// quirectl rerun and run --commit through a real daemon and real repositories: a rerun runs the tree the
// run recorded, not the working copy as it is now; --failed only what failed and what needs it; run
// --commit a commit's tree and file. The trees stay in quire's own store for as long as the runs are kept,
// through a prune, without a ref or an object in the person's repository, and go when retention removes
// the runs.
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { Gate } from "../../../helpers/gate.js";
import { git, tempRepos, writeFiles } from "../../../helpers/git.js";
import { quirectl, quirectlJson } from "../../../helpers/quirectl.js";

const repos = tempRepos();
const KEEP = 6;
let daemon: TestDaemon;
before(async () => {
  daemon = await startTestDaemon([], undefined, { QUIRE_KEEP_RUNS: String(KEEP) });
});
after(async () => {
  await daemon?.stop();
});

const log = (step: { log: string }) => readFileSync(step.log, "utf8").replaceAll("\r\n", "\n");

/** What a person sees of their repository: refs, tags, every commit, the objects and the stash. */
function personView(repo: string) {
  return {
    refs: git(repo, "for-each-ref"),
    branches: git(repo, "branch", "-a"),
    tags: git(repo, "tag"),
    all: git(repo, "log", "--all", "--format=%H %s"),
    objects: git(repo, "count-objects", "-v"),
    packs: readdirSync(join(repo, ".git", "objects", "pack")).sort(),
  };
}

/** quire's object stores and the refs each holds. */
function quireRefs(): string[] {
  const root = join(daemon.home, "git");
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((n) => n.endsWith(".git"))
    .flatMap((n) => git(join(root, n), "for-each-ref", "--format=%(refname)").split("\n").filter(Boolean));
}

describe("rerun", () => {
  test("runs the tree the run recorded, untracked files and all, not the working copy as it is now", async () => {
    const repo = repos.make({
      "quire.yml": 'jobs:\n  check:\n    steps:\n      - run: cat note.txt 2>/dev/null || true; test "$(cat data.txt)" = good\n',
      "data.txt": "good\n",
    });
    writeFiles(repo, { "data.txt": "bad\n", "note.txt": "an untracked note\n" });
    const before = personView(repo);
    const first = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--wait"], 1);
    assert.equal(first.dirty, true);
    // The person fixes it, and takes the note away.
    writeFiles(repo, { "data.txt": "good\n" });
    git(repo, "clean", "-fq");
    const again = await quirectlJson(daemon.home, ["rerun", String(first.id), "--wait"], 1);
    assert.equal(again.rerun_of, first.id);
    assert.equal(again.trigger, "rerun");
    assert.equal(again.state, "failed", "the recorded tree still has data.txt = bad");
    assert.deepEqual(
      [again.tree, again.commit, again.dirty, again.ref, again.repo],
      [first.tree, first.commit, first.dirty, first.ref, first.repo],
    );
    assert.match(log(again.jobs[0].steps[0]), /an untracked note/);
    const shown = await quirectl(daemon.home, ["runs", "show", String(again.id)]);
    assert.match(shown.stdout, new RegExp(`^a rerun of run ${first.id}$`, "m"));
    // A run of the working copy as it is now passes.
    const now = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--wait"]);
    assert.equal(log(now.jobs[0].steps[0]).includes("untracked note"), false);
    const theirs = personView(repo);
    assert.deepEqual(
      { ...theirs, objects: undefined },
      { ...before, objects: undefined },
      "no ref, tag, commit or pack added to the person's repository",
    );
    assert.equal(theirs.objects, before.objects, "no object added to the person's repository");
  });

  test("--failed runs only the jobs that failed and those that need them; what completed stands", async () => {
    const repo = repos.make({
      "quire.yml": [
        "jobs:",
        "  lint:",
        "    steps: [ 'echo lint' ]",
        "  build:",
        "    steps: [ 'echo build; exit 3' ]",
        "  test:",
        "    needs: [build, lint]",
        "    steps: [ 'echo test' ]",
        "  docs:",
        "    needs: [lint]",
        "    steps: [ 'echo docs' ]",
        "",
      ].join("\n"),
    });
    const first = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--wait"], 1);
    assert.deepEqual(
      first.jobs.map((j: { name: string; state: string }) => [j.name, j.state]),
      [
        ["lint", "complete"],
        ["build", "failed"],
        ["test", "skipped"],
        ["docs", "complete"],
      ],
    );
    const again = await quirectlJson(daemon.home, ["rerun", String(first.id), "--failed", "--wait"], 1);
    assert.deepEqual(
      again.jobs.map((j: { name: string; needs: string[] }) => [j.name, j.needs]),
      [
        ["build", []],
        ["test", ["build"]],
      ],
    );
    assert.equal(again.jobs[0].state, "failed");
    assert.equal(again.rerun_of, first.id);

    // A whole rerun: the jobs that completed are given their results by the job cache, as in any run of
    // the same tree; --no-cache runs them too.
    const cached = await quirectlJson(daemon.home, ["rerun", String(first.id), "--wait"], 1);
    assert.deepEqual(
      cached.jobs.map((j: { name: string; state: string; cached_from: number | null }) => [j.name, j.state, j.cached_from]),
      [
        ["lint", "cached", first.id],
        ["build", "failed", null],
        ["test", "skipped", null],
        ["docs", "cached", first.id],
      ],
    );
    const fresh = await quirectlJson(daemon.home, ["rerun", String(first.id), "--no-cache", "--wait"], 1);
    assert.deepEqual(
      fresh.jobs.map((j: { state: string }) => j.state),
      ["complete", "failed", "skipped", "complete"],
    );

    const whole = await quirectl(daemon.home, ["rerun", String(again.id)]);
    assert.equal(whole.code, 0, whole.stderr);
    assert.match(whole.stdout, new RegExp(`^run \\d+ (pending|active): run ${again.id} again, quire on main\\n`));
  });

  test("what cannot be run again is refused, saying why", async () => {
    const repo = repos.make({ "quire.yml": "jobs:\n  fine:\n    steps: [ 'true' ]\n" });
    const done = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--wait"]);
    const nothing = await quirectl(daemon.home, ["rerun", String(done.id), "--failed"]);
    assert.equal(nothing.code, 1);
    assert.match(nothing.stderr, new RegExp(`run ${done.id} has no failed or cancelled job.*quirectl rerun ${done.id} runs every job`));

    const plain = repos.dir("plain");
    writeFileSync(join(plain, "quire.yml"), "jobs:\n  fine:\n    steps: [ 'true' ]\n");
    const copied = await quirectlJson(daemon.home, ["run", join(plain, "quire.yml"), "--wait"]);
    const noTree = await quirectl(daemon.home, ["rerun", String(copied.id)]);
    assert.equal(noTree.code, 1);
    assert.match(noTree.stderr, /not a git repository, and quire keeps no copy of that/);

    const gate = new Gate(repos.dir("gate"));
    // Unsandboxed: a sandboxed step's /tmp, where the gate is, is its own.
    writeFileSync(join(repo, "slow.yml"), `jobs:\n  wait:\n    sandbox: false\n    steps: [ "${gate.wait}" ]\n`);
    const live = await quirectlJson(daemon.home, ["run", join(repo, "slow.yml")]);
    const refused = await quirectl(daemon.home, ["rerun", String(live.id)]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, new RegExp(`run ${live.id} is (pending|active): only a run that has ended can be run again`));
    gate.open();
    await quirectlJson(daemon.home, ["watch", String(live.id)]);

    const unknown = await quirectl(daemon.home, ["rerun", "99999"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no run 99999/);
  });
});

describe("run --commit", () => {
  test("runs that commit's tree with the pipeline file as that commit has it", async () => {
    const repo = repos.make({ "quire.yml": "jobs:\n  say:\n    steps: [ 'cat word.txt' ]\n", "word.txt": "one\n" });
    const one = git(repo, "rev-parse", "HEAD");
    writeFiles(repo, { "quire.yml": "jobs:\n  shout:\n    steps: [ 'cat word.txt; exit 1' ]\n", "word.txt": "two\n" });
    git(repo, "commit", "-qam", "two");
    writeFiles(repo, { "word.txt": "uncommitted\n" });
    const run = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--commit", "HEAD~1", "--wait"]);
    assert.deepEqual([run.commit, run.tree, run.dirty], [one, git(repo, "rev-parse", "HEAD~1^{tree}"), false]);
    assert.deepEqual(
      run.jobs.map((j: { name: string }) => j.name),
      ["say"],
      "the pipeline as HEAD~1 has it",
    );
    assert.equal(log(run.jobs[0].steps[0]).trim(), "one");
    const tip = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--commit", "main", "--wait"], 1);
    assert.deepEqual([tip.ref, tip.dirty, log(tip.jobs[0].steps[0]).trim()], ["main", false, "two"]);
  });

  test("a revision that is not a commit, or a commit without the file, is a usage error", async () => {
    const repo = repos.make({ "quire.yml": "jobs:\n  a:\n    steps: [ 'true' ]\n" });
    const bad = await quirectl(daemon.home, ["run", join(repo, "quire.yml"), "--commit", "no-such-branch"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--commit no-such-branch: no such commit in /);
    writeFiles(repo, { "other.yml": "jobs:\n  a:\n    steps: [ 'true' ]\n" });
    const missing = await quirectl(daemon.home, ["run", join(repo, "other.yml"), "--commit", "HEAD"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /other\.yml is not in commit [0-9a-f]{12} \(HEAD\)/);
  });
});

describe("the trees runs ran", () => {
  test("stay for as long as the runs are kept, through a prune of quire's store, and go with the runs", async () => {
    const repo = repos.make({ "quire.yml": "jobs:\n  a:\n    steps: [ 'cat big.txt | wc -c' ]\n" });
    writeFiles(repo, { "big.txt": "x".repeat(100_000) });
    const run = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--wait"]);
    await eventually(() => quireRefs().includes(`refs/quire/runs/${run.id}/tree`), `run ${run.id}'s tree to be kept`);
    // Its workspace has gone; a prune that keeps nothing unreachable (young or not) keeps its tree.
    for (const name of readdirSync(join(daemon.home, "git")).filter((n) => n.endsWith(".git")))
      git(join(daemon.home, "git", name), "prune", "--expire=now");
    const again = await quirectlJson(daemon.home, ["rerun", String(run.id), "--no-cache", "--wait"]);
    assert.equal(log(again.jobs[0].steps[0]).trim(), "100000");

    // Retention keeps the newest KEEP runs: once enough newer ones have ended, this one and its trees go.
    // --no-cache: a run whose job was cached from this one would keep it (its logs are that job's).
    for (let i = 0; i < KEEP; i++) await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--no-cache", "--wait"]);
    await eventually(
      () => !quireRefs().some((ref) => ref.startsWith(`refs/quire/runs/${run.id}/`)),
      () => `run ${run.id}'s refs to go: ${quireRefs().join(" ")}`,
      30_000,
    );
    const gone = await quirectl(daemon.home, ["rerun", String(run.id)]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, new RegExp(`no run ${run.id}`));
  });
});
