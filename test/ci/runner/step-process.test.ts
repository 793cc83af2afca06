// A step's output on its way to the log: redacted across reads, and not kept from a live viewer. A prompt
// whose last bytes happen to begin a secret used to wait in the redactor until more output came, which a
// prompt never sends before it is answered: now held bytes go out once the output has been quiet a moment.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { stepCommand } from "../../../src/ci/runner/shell.js";
import { StepProcess } from "../../../src/ci/runner/step-process.js";
import { eventually } from "../../helpers/eventually.js";
import { Gate } from "../../helpers/gate.js";

const dir = mkdtempSync(join(tmpdir(), "quire-step-process-"));
const started: StepProcess[] = [];
after(async () => {
  for (const step of started) await step.endLeftovers();
  rmSync(dir, { recursive: true, force: true });
});

function start(script: string, secrets: string[], logFile: string): StepProcess {
  const step = StepProcess.start({
    command: stepCommand(script, 0),
    cwd: dir,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
    timeoutMs: 60_000,
    logFile,
    secrets,
    killGraceMs: 1_000,
  });
  started.push(step);
  return step;
}

test("a prompt ending in the first bytes of a secret reaches the log while the step waits; the rest of the secret is masked", async () => {
  const gate = new Gate(dir, "answered");
  const logFile = join(dir, "logs", "prompt.log");
  const step = start(`printf 'Password: hun'; ${gate.wait}; printf 'ter22 done'`, ["hunter22"], logFile);
  await eventually(
    () => {
      try {
        return readFileSync(logFile, "utf8") === "Password: hun";
      } catch {
        return false;
      }
    },
    "the whole prompt in the log while the step waits",
    20_000,
  );
  gate.open();
  const exit = await step.result;
  assert.equal(exit.exitCode, 0);
  assert.equal(readFileSync(logFile, "utf8"), "Password: hun*** done");
  assert.equal(exit.tail.toString(), "Password: hun*** done");
});

test("200 secrets over 2,000 lines: every occurrence is masked, split across reads or not", async () => {
  const secrets = Array.from({ length: 200 }, (_, i) => `secret-${i}-${"x".repeat(i % 37)}`);
  const logFile = join(dir, "logs", "many.log");
  // Each line prints every 10th secret; the terminal's reads split lines wherever they fall.
  const script = `for i in $(seq 0 2000); do s=$((i % 200)); x=$(printf '%*s' $((s % 37)) '' | tr ' ' x); printf 'line %d secret-%d-%s end\\n' $i $s $x; done`;
  const exit = await start(script, secrets, logFile).result;
  assert.equal(exit.exitCode, 0);
  const log = readFileSync(logFile, "utf8");
  assert.equal(log.split("\r\n").length, 2002);
  assert.ok(!log.includes("secret-"), "no secret left");
  assert.equal(log.split("***").length - 1, 2001);
});
