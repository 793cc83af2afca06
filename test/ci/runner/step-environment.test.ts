// A step's environment: each layer over the one before, quirectl first on PATH, and what quire says
// about the run and the step last.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jobOf, pipelineOf, stepOf, type Job, type Step } from "../../../src/ci/pipeline/model.js";
import { StepEnvironment } from "../../../src/ci/runner/step-environment.js";

const step: Step = stepOf({ name: "compile", run: "make", env: { LAYER: "step" } });
const job: Job = jobOf({ name: "build", env: { LAYER: "job", J: "j" }, secrets: ["TOKEN"], steps: [step] });

test("the daemon's environment, then the pipeline's, the job's and the step's env, the job's secrets, then quire's own", () => {
  const environment = new StepEnvironment({
    env: { PATH: "/usr/bin", HOME: "/home/me", LAYER: "daemon", QUIRE_JOB: "spoofed", UNSET: undefined },
    binDir: "/q/bin",
    home: "/q",
  });
  const env = environment
    .forRun({
      runId: 7,
      pipeline: pipelineOf({ name: "p", file: "/w/quire.yml", env: { LAYER: "pipeline", P: "p" }, jobs: [job] }),
      secrets: new Map([
        ["TOKEN", "s3cret"],
        ["OTHER", "x"],
      ]),
      jobKey: (name) => `k/7/${name}/`,
    })
    .forStep(job, step);
  assert.deepEqual(env, {
    PATH: "/q/bin:/usr/bin",
    HOME: "/home/me",
    LAYER: "step",
    QUIRE_HOME: "/q",
    QUIRE_RUN_ID: "7",
    CI: "true",
    P: "p",
    J: "j",
    TOKEN: "s3cret",
    QUIRE_JOB: "build",
    QUIRE_STEP: "compile",
    QUIRE_CI_JOB_KEY: "k/7/build/",
  });
});

test("without a PATH the steps' PATH is quirectl's directory alone, and QUIRE_HOME is set only for a home", () => {
  const env = new StepEnvironment({ env: {}, binDir: "/q/bin", home: undefined })
    .forRun({ runId: 1, pipeline: pipelineOf({ name: "p", file: "f", jobs: [job] }), secrets: new Map(), jobKey: () => "k" })
    .forStep(job, step);
  assert.equal(env.PATH, "/q/bin");
  assert.equal(env.QUIRE_HOME, undefined);
  assert.equal(env.TOKEN, "", "a secret the run has no value for is set empty");
});
