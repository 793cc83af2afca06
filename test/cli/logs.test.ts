// Regressions in `quirectl logs`. A --step without --job was looked for in no job (nothing printed, exit
// 0), and a step name that several jobs have would print them all as if one; the logs of a whole run (or a
// retried job) ran every step and attempt together with nothing saying where one ended. Now a step alone
// is found in the job that has it, refused with exit 2 naming the jobs when several have it, each step's
// bytes are headed by job, step and attempt when more than one step is printed (--raw: the bytes alone),
// and a selection with no output says why instead of printing nothing.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

const repos = tempRepos();
let daemon: TestDaemon;
let dir: string;
let id: string;
before(async () => {
  daemon = await startTestDaemon();
  dir = repos.make({
    "quire.yml": [
      "jobs:",
      "  a:",
      "    steps:",
      "      - name: hello",
      "        run: echo hello from a",
      "  b:",
      "    needs: [a]",
      "    steps:",
      "      - name: hello",
      "        run: echo hello from b",
      "      - name: only",
      "        run: printf 'only in b, no newline'",
      "  flaky:",
      "    needs: [b]",
      "    retries: 1",
      "    steps:",
      "      - name: try",
      "        run: echo x >> tries; echo try $(wc -l < tries); test $(wc -l < tries) -ge 2",
      "  gate:",
      "    needs: [flaky]",
      "    steps:",
      "      - name: check",
      "        run: echo gate closed; exit 3",
      "  deploy:",
      "    needs: [gate]",
      "    steps:",
      "      - name: ship",
      "        run: echo shipped",
      "",
    ].join("\n"),
  });
  const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"], 1);
  assert.equal(run.state, "failed");
  id = String(run.id);
});
after(async () => {
  await daemon?.stop();
});

test("--step alone finds the one job that has it and prints its bytes alone", async () => {
  const r = await quirectl(daemon.home, ["logs", id, "--step", "only"]);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, "only in b, no newline", ""]);
});

test("--step alone that several jobs have exits 2, naming them and the command for one", async () => {
  const r = await quirectl(daemon.home, ["logs", id, "--step", "hello"]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, "");
  assert.equal(
    r.stderr,
    `quirectl: jobs a, b of run ${id} each have a step hello; name the job: quirectl logs ${id} --job a --step hello\n`,
  );
  const json = await quirectl(daemon.home, ["logs", id, "--step", "hello", "--json"]);
  assert.equal(json.code, 2);
  assert.equal(JSON.parse(json.stdout).error.code, "QUIRE_ERR_STEP_AMBIGUOUS");
});

test("a whole run piped: each step's bytes under a header of job, step and attempt", async () => {
  const r = await quirectl(daemon.home, ["logs", id]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout.replaceAll("\r\n", "\n"),
    [
      "==> a / hello <==",
      "hello from a",
      "",
      "==> b / hello <==",
      "hello from b",
      "",
      "==> b / only <==",
      "only in b, no newline",
      "",
      "==> flaky / try (attempt 1) <==",
      "try 1",
      "",
      "==> flaky / try (attempt 2) <==",
      "try 2",
      "",
      "==> gate / check <==",
      "gate closed",
      "",
    ].join("\n"),
  );
});

test("one job's retried step: both attempts, headed; --raw: the bytes alone, in order", async () => {
  const headed = await quirectl(daemon.home, ["logs", id, "--job", "flaky", "--step", "try"]);
  assert.equal(
    headed.stdout.replaceAll("\r\n", "\n"),
    "==> flaky / try (attempt 1) <==\ntry 1\n\n==> flaky / try (attempt 2) <==\ntry 2\n",
  );
  const raw = await quirectl(daemon.home, ["logs", id, "--raw"]);
  assert.equal(raw.code, 0, raw.stderr);
  assert.equal(raw.stdout.replaceAll("\r\n", "\n"), "hello from a\nhello from b\nonly in b, no newlinetry 1\ntry 2\ngate closed\n");
});

test("a step with no log says why nothing is printed", async () => {
  const r = await quirectl(daemon.home, ["logs", id, "--step", "ship"]);
  assert.deepEqual([r.code, r.stdout, r.stderr], [0, "", "quirectl: no output: step ship of job deploy was skipped\n"]);
});
