// The daemon's log against a real quired: backends' lines arrive through the broker with their run ids,
// rotation by --log-max-bytes keeps --log-files files, SIGHUP reopens the file for an external logrotate,
// and `quirectl daemon log --follow` keeps printing across rotations.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { QUIRECTL, startTestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { tempRepos } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

const repos = tempRepos();

test("rotation, SIGHUP and daemon log --follow", async () => {
  const daemon = await startTestDaemon(["--log-max-bytes", "700", "--log-files", "3"]);
  const follower = spawn(process.execPath, [QUIRECTL, "--home", daemon.home, "daemon", "log", "--follow", "--json"], {
    env: { ...process.env, QUIRE_HOME: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let followed = "";
  follower.stdout!.setEncoding("utf8").on("data", (t: string) => (followed += t));
  try {
    const repo = repos.make({ "quire.yml": "jobs:\n  a:\n    steps: [ 'echo hi' ]\n" });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) ids.push((await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--wait"])).id);

    const files = () =>
      readdirSync(daemon.home)
        .filter((f) => /^quired\.log(\.\d+)?$/.test(f))
        .sort();
    assert.deepEqual(files(), ["quired.log", "quired.log.1", "quired.log.2"]);
    for (const f of files()) {
      for (const line of readFileSync(join(daemon.home, f), "utf8").trim().split("\n"))
        assert.doesNotThrow(() => JSON.parse(line), `${f}: ${line}`);
    }
    // Every run's end is in the followed output, with its run id, though the files rotated under it.
    await eventually(
      () => ids.every((id) => new RegExp(`"msg":"run ended","runId":${id},`).test(followed)),
      "the runs' ends in the followed log",
    );

    // SIGHUP: an external logrotate moved the file; quired opens a new one at the path.
    renameSync(daemon.places.logFile, `${daemon.places.logFile}.moved`);
    daemon.process.kill("SIGHUP");
    await eventually(
      () => existsSync(daemon.places.logFile) && /log reopened/.test(readFileSync(daemon.places.logFile, "utf8")),
      "a new quired.log",
    );
    await eventually(() => /"msg":"log reopened"/.test(followed), "the reopen in the followed log");
    const human = await quirectl(daemon.home, ["daemon", "log"]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} INFO {2}broker +log reopened pid=\d+ path=/m);
  } finally {
    follower.kill();
    await daemon.stop();
  }
});
