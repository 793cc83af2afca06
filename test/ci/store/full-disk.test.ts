// The run store on a full disk: a write the disk had no room for threw SQLITE_FULL, out of the runner's
// internal-failure path and the ci backend with it. Now new work is refused with QUIRE_ERR_STORE_FULL
// naming the file system, and how a run ended is still written, in the room of a reserve kept beside
// quire.db, which comes back once there is room. A real tmpfs (mounting needs root, as CI has).
import assert from "node:assert/strict";
import { existsSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { jobOf, pipelineOf, stepOf } from "../../../src/ci/pipeline/model.js";
import { RESERVE_BYTES, reservePath } from "../../../src/ci/store/disk-reserve.js";
import { RunStore, type NewRun } from "../../../src/ci/store/index.js";
import { fillDisk, mountTmpfs } from "../../helpers/tmpfs.js";

const MiB = 1024 * 1024;
const cleanup: Array<() => unknown> = [];
after(async () => {
  for (const step of cleanup.reverse()) await step();
});

function tmpfs(bytes: number): string {
  const disk = mountTmpfs(bytes);
  cleanup.push(() => disk.unmount());
  return disk.dir;
}

describe("the run store on a full disk", () => {
  function newRun(name: string): NewRun {
    const pipeline = pipelineOf({
      name,
      file: "quire.yml",
      jobs: [jobOf({ name: "build", steps: [stepOf({ name: "make", run: "make" })] })],
    });
    return { repo: "/src/app", ref: "main", pipeline, commit: null, tree: null, dirty: false, workspace: "." };
  }

  test("refuses new work with QUIRE_ERR_STORE_FULL but records how a run ended in its reserve's room; the reserve comes back", () => {
    const dir = tmpfs(16 * MiB);
    const file = join(dir, "quire.db");
    const store = RunStore.open(file);
    cleanup.push(() => store.close());
    assert.equal(statSync(reservePath(file)).size, RESERVE_BYTES, "a reserve is kept beside the store");
    const { run } = store.createRun(newRun("first"), 1_000);
    assert.ok(store.startRun(run.id, 1_001));

    fillDisk(join(dir, "filler"));
    assert.throws(
      () => store.createRun(newRun("second"), 2_000),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, "QUIRE_ERR_STORE_FULL");
        assert.ok(error.message.includes(`tmpfs at ${dir}: `), error.message);
        assert.match(error.message, / free of 16\.0 MiB\)/);
        return true;
      },
    );
    assert.ok(existsSync(reservePath(file)), "new work does not use the reserve");

    assert.equal(store.finishRun(run.id, { state: "failed", kind: "internal", summary: "the disk filled up" }, 3_000), true);
    assert.equal(existsSync(reservePath(file)), false, "the end was written in the reserve's room");
    const ended = store.getRun(run.id)!;
    assert.equal(ended.state, "failed");
    assert.equal(ended.jobs[0]!.state, "skipped");
    assert.deepEqual(
      store.listRuns().map((r) => r.pipeline),
      ["first"],
      "the refused run left nothing behind",
    );

    rmSync(join(dir, "filler"));
    const { run: next } = store.createRun(newRun("second"), 4_000);
    assert.equal(next.state, "pending");
    assert.equal(statSync(reservePath(file)).size, RESERVE_BYTES, "with room again, the reserve is back");
  });
});
