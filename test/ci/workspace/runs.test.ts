// Runs in workspaces that are git checkouts, end to end: a real quired, real PTYs and real repositories.
// A step's git answers as the person's would; a big untracked file leaves the person's .git as it was; a
// submodule's files are there.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { git, gitEnv, tempRepos, writeFiles } from "../../helpers/git.js";
import { quirectlJson } from "../../helpers/quirectl.js";

const repos = tempRepos();

let daemon: TestDaemon;
before(async () => {
  daemon = await startTestDaemon();
});
after(async () => {
  await daemon?.stop();
});

// Steps run in a terminal, where git would page and colour.
const GIT = "git --no-pager -c color.ui=never";

async function run(dir: string): Promise<any> {
  const done = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"]);
  assert.equal(done.state, "complete", done.failure_summary);
  return done;
}

function log(step: { log: string }): string {
  return readFileSync(step.log, "utf8").replaceAll("\r\n", "\n");
}

// Every file in .git with its bytes and time, and git's count of objects.
function gitDirState(dir: string) {
  const files: string[] = [];
  const visit = (path: string) => {
    for (const name of readdirSync(path).sort()) {
      const full = join(path, name);
      const s = statSync(full);
      if (s.isDirectory()) visit(full);
      // Git may set the time of an object it finds it already has; its name and bytes are what count.
      else files.push(`${full} ${full.includes("/objects/") ? "" : s.mtimeMs} ${readFileSync(full).toString("base64")}`);
    }
  };
  visit(join(dir, ".git"));
  return {
    files,
    objects: git(dir, "count-objects", "-v"),
    bytes: execFileSync("du", ["-sb", join(dir, ".git")], { encoding: "utf8" }).split("\t")[0],
  };
}

test("a step sees a git repository: status, diff against HEAD, describe, log and a hooks path of its own", async () => {
  const dir = repos.make({
    "quire.yml": [
      "jobs:",
      "  look:",
      "    steps:",
      `      - ${GIT} status --porcelain; echo ---; ${GIT} diff HEAD --stat; echo ---; ${GIT} describe --always; echo ---; ${GIT} log -1 --format=%H`,
      "      - git config core.hooksPath .husky/_ && git rev-parse --git-path hooks",
    ].join("\n"),
    "src/a.js": "a\n",
    "src/b.js": "b\n",
  });
  writeFiles(dir, { "src/a.js": "a changed\n", "src/new.js": "new\n", "src/staged.js": "staged\n" });
  git(dir, "add", "src/staged.js");
  const before = gitDirState(dir);
  const done = await run(dir);
  assert.deepEqual(gitDirState(dir), before, "the person's .git, config included, is as it was");

  const [status, diff, describe, head] = log(done.jobs[0].steps[0]).split("---\n");
  // Asked last: `git diff` refreshes the person's index.
  const person = (...args: string[]) =>
    execFileSync("git", ["--no-pager", "-c", "color.ui=never", ...args], {
      cwd: dir,
      env: { ...process.env, ...gitEnv },
      encoding: "utf8",
    });
  assert.equal(status, person("status", "--porcelain"));
  assert.equal(diff, person("diff", "HEAD", "--stat"));
  assert.equal(describe, person("describe", "--always"));
  assert.equal(head, person("log", "-1", "--format=%H"));
  assert.match(status!, /^ M src\/a\.js$/m);
  assert.match(log(done.jobs[0].steps[1]), /^\.husky\/_$/m);
});

test("a big untracked file, run twice and changed in between, leaves the person's .git its size and objects", async () => {
  const dir = repos.make({ "quire.yml": "jobs:\n  size:\n    steps:\n      - wc -c < data.bin\n" });
  writeFileSync(join(dir, "data.bin"), randomBytes(3 * 1024 * 1024));
  const before = gitDirState(dir);
  const first = await run(dir);
  writeFileSync(join(dir, "data.bin"), randomBytes(3 * 1024 * 1024));
  const second = await run(dir);
  assert.deepEqual(gitDirState(dir), before);
  assert.equal(second.dirty, true);
  assert.notEqual(second.tree, first.tree);
  assert.equal(log(second.jobs[0].steps[0]).trim(), String(3 * 1024 * 1024));
});

test("a submodule's files are there, at the commit the superproject records", async () => {
  const lib = repos.make({ "lib.txt": "from the submodule\n" });
  const dir = repos.make({
    "quire.yml": "jobs:\n  use:\n    steps:\n      - cat vendor/lib/lib.txt && git -C vendor/lib rev-parse HEAD\n",
  });
  git(dir, "-c", "protocol.file.allow=always", "submodule", "add", "-q", lib, "vendor/lib");
  git(dir, "commit", "-q", "-m", "a submodule");
  const done = await run(dir);
  assert.equal(log(done.jobs[0].steps[0]), `from the submodule\n${git(dir, "rev-parse", "HEAD:vendor/lib")}\n`);
  assert.equal(done.dirty, false);
});
