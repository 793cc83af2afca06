// Without bubblewrap, or with one that cannot make a sandbox (no user namespaces), steps run as they did
// before the sandbox, and the run says so in a warning; a job asking for `network: false` does not run,
// since nothing could keep it off the network. A real Runner with real PTYs in this process, its
// bubblewrap named by the test: a path that is not there, and /bin/false (a bwrap whose every sandbox fails).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, test } from "node:test";
import { installQuirectlShim } from "../../../src/ci/runner/quirectl-shim.js";
import { Runner } from "../../../src/ci/runner/runner.js";
import { RunStore, type RunView } from "../../../src/ci/store/index.js";
import { tempRepos } from "../../helpers/git.js";

const repos = tempRepos();
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

const PIPELINE = [
  "jobs:",
  "  plain:",
  "    steps:",
  '      - test -r "$QUIRE_HOME/quire.db" && echo "read the store"',
  "  offline:",
  "    network: false",
  "    steps: [ 'echo never' ]",
  "",
].join("\n");

async function runWith(bwrap: string): Promise<RunView> {
  const home = repos.dir("home");
  const store = RunStore.open(join(home, "quire.db"));
  const runner = new Runner({
    store,
    dataDir: home,
    logDir: join(home, "logs"),
    home,
    binDir: installQuirectlShim(join(home, "bin")),
    bwrap,
  });
  cleanup.push(async () => {
    await runner.shutdown();
    store.close();
  });
  runner.start();
  const dir = repos.make({ "quire.yml": PIPELINE });
  const run = await runner.submit(join(dir, "quire.yml"), PIPELINE);
  await runner.settled(run.id);
  return runner.get(run.id);
}

for (const [bwrap, why] of [
  ["/nonexistent/bwrap", /bubblewrap \(bwrap\) is not installed/],
  ["/bin/false", /bubblewrap cannot make a sandbox on this machine/],
] as const) {
  test(`bwrap ${bwrap}: steps run unsandboxed with a warning on the run; \`network: false\` is refused`, async () => {
    const run = await runWith(bwrap);
    const [plain, offline] = run.jobs;
    assert.equal(plain!.state, "complete", "the job ran, and could read the store");
    assert.equal(offline!.state, "failed");
    assert.equal(run.state, "failed");
    assert.match(run.failureSummary ?? "", /network: false`, which needs the sandbox, and there is none/);
    const warnings = run.annotations.filter((a) => a.job === null);
    assert.equal(warnings.length, 1, "one warning for the run");
    assert.match(warnings[0]!.text, /^warning: steps run without a sandbox: /);
    assert.match(warnings[0]!.text, why);
  });
}
