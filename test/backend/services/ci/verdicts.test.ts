// What the ci backend tells about a run without being asked, against a real daemon: each repository's
// status file (the newest run per ref, for shell prompts) follows its runs' states, and a run submitted
// with `notify` ends in a desktop notification naming the run, its result and its first failure, sent
// through a stand-in notify-send on quired's PATH (the real one needs a desktop session). The runs
// settings of the configuration file reach the runner.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CiClient } from "../../../../src/client/ci.js";
import { readStatusFile } from "../../../../src/ci/status/status-file.js";
import { startTestDaemon, tempHome, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { git, tempRepos } from "../../../helpers/git.js";

const scratch = mkdtempSync(join(tmpdir(), "quire-verdicts-"));
const standIns = join(scratch, "bin");
const notes = join(scratch, "notes");
mkdirSync(standIns);
mkdirSync(notes);
// The stand-in: each call's arguments, one per line, in a file of its own.
writeFileSync(
  join(standIns, "notify-send"),
  `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a"; done > "${notes}/$$.tmp" && mv "${notes}/$$.tmp" "${notes}/$$"\n`,
);
chmodSync(join(standIns, "notify-send"), 0o755);

const PIPELINE =
  "name: checks\njobs:\n  build:\n    steps:\n      - name: compile\n        run: |\n          echo compiling\n          test ! -e broken || { echo 'error: it is broken'; exit 3; }\n";

const repos = tempRepos();
let daemon: TestDaemon;
let ci: CiClient;
let repo: string;
before(async () => {
  const home = tempHome();
  // Failed runs' workspaces are not kept, so the setting is seen to reach the runner.
  writeFileSync(join(home, "config.yml"), "runs:\n  keep-failed-workspaces: 0\n");
  daemon = await startTestDaemon([], home, { PATH: `${standIns}:${process.env.PATH}` });
  ci = await CiClient.connect({ home: daemon.home, autostart: false });
  repo = repos.make({ "quire.yml": PIPELINE });
});
after(async () => {
  ci?.close();
  await daemon?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

const recorded = () =>
  readdirSync(notes)
    .filter((name) => !name.endsWith(".tmp"))
    .map((name) => readFileSync(join(notes, name), "utf8").trimEnd().split("\n"));
const statusDir = () => join(daemon.home, "status");

async function runToEnd(options: Parameters<CiClient["submit"]>[2]) {
  const run = await ci.submit(join(repo, "quire.yml"), PIPELINE, options);
  return ci.watch(run.id, () => {});
}

describe("status files and notifications", () => {
  test("the status file follows a repository's newest run per ref, through every state change", async () => {
    const passed = await runToEnd({});
    assert.equal(passed.state, "complete");
    assert.deepEqual(readStatusFile(statusDir(), passed.repo), [{ ref: "main", state: "complete", run: Number(passed.id) }]);
    writeFileSync(join(repo, "broken"), "");
    const failed = await runToEnd({ ref: "feature/x" });
    assert.equal(failed.state, "failed");
    assert.deepEqual(readStatusFile(statusDir(), failed.repo), [
      { ref: "feature/x", state: "failed", run: Number(failed.id) },
      { ref: "main", state: "complete", run: Number(passed.id) },
    ]);
    rmSync(join(repo, "broken"));
    // The file's name is the repository's path spelled so a shell finds it by substitution alone.
    assert.ok(existsSync(join(statusDir(), failed.repo.replaceAll("%", "%25").replaceAll("/", "%2F"))));
    assert.deepEqual(recorded(), [], "no run so far asked for a notification");
  });

  test("a failed run that asked for it ends in a notification naming the run, the result and the first failure", async () => {
    writeFileSync(join(repo, "broken"), "");
    const failed = await runToEnd({ trigger: "post-commit", notify: true });
    rmSync(join(repo, "broken"));
    assert.equal(failed.trigger, "post-commit");
    await eventually(
      () => recorded().length === 1,
      () => `the notification; so far ${JSON.stringify(recorded())}`,
    );
    const [args] = recorded();
    assert.deepEqual(args!.slice(0, 3), ["--app-name=quire", "--urgency=critical", "--"]);
    assert.equal(args![3], `quire: run ${failed.id} failed`);
    assert.deepEqual(args!.slice(4), ["checks on main", 'job build, step "compile" exited 3', "error: it is broken"]);
    // A workspace is released once its run has ended: runs.keep-failed-workspaces 0 keeps none.
    await eventually(
      () => !existsSync(join(daemon.home, "work", String(failed.id))),
      "the failed run's workspace to be removed (runs.keep-failed-workspaces: 0)",
    );

    const passed = await runToEnd({ trigger: "watch", notify: true });
    await eventually(() => recorded().length === 2, "the second notification");
    const second = recorded().find((a) => a.includes(`quire: run ${passed.id} passed`));
    assert.ok(second, JSON.stringify(recorded()));
    assert.deepEqual(second!.slice(1, 2), ["--urgency=normal"]);
  });

  test("a run superseded by a newer one tells nothing; the newer one does", async () => {
    const slow = PIPELINE.replace("echo compiling", "sleep 30");
    const first = await ci.submit(join(repo, "quire.yml"), slow, { notify: true, trigger: "post-commit" });
    const before = recorded().length;
    const second = await runToEnd({ notify: true, trigger: "post-commit" });
    assert.equal((await ci.get(first.id)).state, "superseded");
    await eventually(() => recorded().length === before + 1, "the newer run's notification");
    assert.ok(recorded().some((a) => a.includes(`quire: run ${second.id} passed`)));
    assert.ok(!recorded().some((a) => a.some((line) => line.includes(`run ${first.id} `))), "nothing about the superseded run");
    assert.equal(git(repo, "status", "--porcelain"), "");
  });
});
