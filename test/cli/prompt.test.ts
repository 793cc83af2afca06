// The prompt segment in real shells (bash, zsh, fish, and sh as tmux and starship run it) against real
// status files and real git repositories (a worktree's .git file included): each shows the state of the
// checked-out branch's newest run, the same as `quirectl prompt --print`, and starts no process to do it.
// That is checked in a pid namespace of its own (unshare), where nothing else takes pids: the pid of a
// process started after the prompt has run is exactly one more than that of one started before.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { writeStatusFile } from "../../src/ci/status/status-file.js";
import { startTestDaemon, tempHome, type TestDaemon } from "../helpers/daemon.js";
import { git, tempRepos } from "../helpers/git.js";
import { quirectl } from "../helpers/quirectl.js";

const repos = tempRepos();
const home = tempHome();
const scratch = realpathSync(mkdtempSync(join(tmpdir(), "quire-prompt-")));
let repo: string;
let worktree: string;
const snippets: Record<string, string> = {};
before(async () => {
  repo = realpathSync(repos.make({ "quire.yml": "jobs:\n  a:\n    steps:\n      - true\n" }));
  worktree = join(scratch, "feature worktree");
  git(repo, "worktree", "add", "-q", "-b", "feature/x", worktree);
  mkdirSync(join(repo, "deep", "er"), { recursive: true });
  const statusDir = join(home, "status");
  writeStatusFile(statusDir, repo, [
    { ref: "main", state: "failed", run: 12 },
    { ref: "feature/x", state: "complete", run: 3 },
  ]);
  // The worktree is a repository of its own path: its own status file, as the daemon keeps one per work tree.
  writeStatusFile(statusDir, worktree, [{ ref: "feature/x", state: "active", run: 14 }]);
  for (const shell of ["bash", "zsh", "fish", "sh", "tmux", "starship"]) {
    const r = await quirectl(home, ["prompt", "--shell", shell]);
    assert.equal(r.code, 0, r.stderr);
    snippets[shell] = r.stdout;
  }
});
after(() => {
  rmSync(home, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

const SHELLS: Record<string, { file: string; args: string[]; load: string; show: string }> = {
  bash: {
    file: "/bin/bash",
    args: ["--norc", "--noprofile", "-c"],
    load: ". SNIPPET",
    show: '__quire_status; printf "%s" "$QUIRE_PROMPT"',
  },
  zsh: { file: "/usr/bin/zsh", args: ["-f", "-c"], load: ". SNIPPET", show: '__quire_status; printf "%s" "$QUIRE_PROMPT"' },
  fish: { file: "/usr/bin/fish", args: ["--no-config", "-c"], load: "source SNIPPET", show: "__quire_prompt" },
  sh: { file: "/bin/sh", args: ["-c"], load: ". SNIPPET", show: '__quire_status; printf "%s" "$QUIRE_PROMPT"' },
};

/**
 * Runs the shell in `cwd` in a pid namespace, with no PATH (a command that is not a builtin would fail):
 * the segment it shows, and how many processes showing it three times started.
 */
function inShell(shell: string, cwd: string): { segment: string; processes: number } {
  const { file, args, load, show } = SHELLS[shell]!;
  const path = join(scratch, `snippet.${shell}`);
  writeFileSync(path, snippets[shell]!);
  // The first showing warms up what a shell makes once (fish starts its threads, which take pids too).
  const probe = "/bin/sh -c 'echo \"<$$>\"'";
  // The last probe is not the script's last command: bash and zsh would exec that one in place of themselves.
  const script = `${load.replace("SNIPPET", `'${path}'`)}; ${show}; echo; ${probe}; ${show}; ${show}; ${show}; echo; ${probe}; echo`;
  const r = spawnSync(
    "unshare",
    ["--pid", "--fork", "--kill-child", "env", "-i", "PATH=/nonexistent", `HOME=${scratch}`, file, ...args, script],
    { cwd, encoding: "utf8", timeout: 30_000 },
  );
  assert.equal(r.status, 0, `${shell}: ${r.stderr}`);
  const [first, , third] = r.stdout.split("\n");
  const pids = [...r.stdout.matchAll(/<(\d+)>/g)].map((m) => Number(m[1]));
  const again = third!.replace(/<\d+>/, "");
  assert.equal(again, first!.repeat(3), `${shell}: the segment is the same each time`);
  return { segment: first!, processes: pids[1]! - pids[0]! - 1 };
}

async function printed(cwd: string): Promise<string> {
  const r = await quirectl(home, ["prompt", "--print"], { cwd });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.replace(/\n$/, "");
}

describe("the segment in each shell", () => {
  for (const shell of Object.keys(SHELLS)) {
    test(`${shell}: this branch's newest run, from anywhere in the work tree, at no process`, async () => {
      const cases: [string, string][] = [
        [join(repo, "deep", "er"), "quire ✗ #12"],
        [repo, "quire ✗ #12"],
        [worktree, "quire ● #14"],
        [scratch, ""],
      ];
      for (const [cwd, expected] of cases) {
        const shown = inShell(shell, cwd);
        const segment = shown.segment;
        // fish's thread pool lets an idle thread go and makes a new one when it is needed again, which
        // under load can fall between the probes and take a pid: the fewest of three tries is what the
        // prompt itself starts (a process a prompt started would be in every try).
        let processes = shown.processes;
        for (let attempt = 1; processes > 0 && attempt < 3; attempt++) processes = Math.min(processes, inShell(shell, cwd).processes);
        assert.equal(segment, expected, `${shell} in ${cwd}`);
        assert.equal(processes, 0, `${shell} started ${processes} processes for three prompts in ${cwd}`);
        assert.equal(await printed(cwd), expected, `prompt --print in ${cwd}`);
      }
    });
  }

  test("a path reached through a symlink is the repository's own (as git names it)", async () => {
    const link = join(scratch, "link-to-repo");
    execFileSync("ln", ["-s", repo, link]);
    for (const shell of Object.keys(SHELLS)) assert.equal(inShell(shell, join(link, "deep")).segment, "quire ✗ #12", shell);
    assert.equal(await printed(join(link, "deep")), "quire ✗ #12");
  });

  test("the tmux line and the starship module run the sh function in the pane's or prompt's directory", () => {
    const configDir = join(scratch, ".config", "quire");
    mkdirSync(configDir, { recursive: true });
    writeFileSync(join(configDir, "prompt.sh"), snippets.sh!);
    const tmux = snippets.tmux!.match(/#\((.*)\) %H:%M'$/m)![1]!.replace("#{pane_current_path}", join(repo, "deep"));
    const starship = snippets.starship!.match(/^command = '(.*)'$/m)![1]!;
    assert.match(snippets.starship!, /^\[custom\.quire\]$/m);
    for (const command of [tmux, starship]) {
      const r = spawnSync("/bin/sh", ["-c", command], {
        cwd: join(repo, "deep"),
        env: { HOME: scratch, PATH: "/nonexistent" },
        encoding: "utf8",
      });
      assert.equal(r.stdout, "quire ✗ #12", `${command}: ${r.stderr}`);
    }
  });
});

describe("with a real daemon", () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.stop();
  });

  test("the status file the daemon writes is what the bash prompt shows, run after run", async () => {
    const dir = repos.make({ "quire.yml": "jobs:\n  a:\n    steps:\n      - test ! -e broken\n" });
    {
      const snippet = (await quirectl(daemon.home, ["prompt", "--shell", "bash"])).stdout;
      const show = () =>
        spawnSync("/bin/bash", ["--norc", "--noprofile", "-c", `${snippet}\n__quire_status; printf %s "$QUIRE_PROMPT"`], {
          cwd: dir,
          encoding: "utf8",
        }).stdout;
      assert.equal(show(), "");
      const passed = await quirectl(daemon.home, ["run", "--wait", "--json"], { cwd: dir });
      assert.equal(passed.code, 0, passed.stderr);
      assert.equal(show(), "quire ✓");
      writeFileSync(join(dir, "broken"), "");
      const failed = await quirectl(daemon.home, ["run", "--wait", "--json"], { cwd: dir });
      assert.equal(failed.code, 1);
      assert.equal(show(), `quire ✗ #${JSON.parse(failed.stdout).id}`);
    }
  });
});
