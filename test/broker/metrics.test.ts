// METRICS as a person would graph it: the broker's counters and handoff latency, and what the backends
// report over the control channel (runs, steps, durations, output, pty sessions), all in a strictly
// well-formed Prometheus text exposition.
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { PtyClient } from "../../src/client/pty.js";
import { Lane } from "../../src/wire/lanes.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { tempRepos } from "../helpers/git.js";
import { parsePrometheus, value } from "../helpers/prometheus.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

describe("metrics", () => {
  let daemon: TestDaemon;
  const repos = tempRepos();
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    await daemon?.stop();
  });
  const scrape = async () => parsePrometheus((await adminCall(AdminOp.METRICS, { home: daemon.home })).metricsText);

  test("the parser refuses what is not the format", () => {
    assert.throws(() => parsePrometheus("# TYPE a counter\na 1\na 1\n"), /duplicate/);
    assert.throws(() => parsePrometheus("# TYPE a counter\nb 1\n"), /outside its family/);
    assert.throws(() => parsePrometheus('# TYPE a counter\na{x="1",} 1\n'), /trailing comma|malformed/);
    assert.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'), /decrease/);
    assert.throws(() => parsePrometheus('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'), /_count/);
  });

  test("one handoff and one reconnect: the Hello counters show both, the handoff latency one observation", async () => {
    const handed = await connect("echo", { home: daemon.home, autostart: false });
    await handed.request(Lane.ECHO, Buffer.from("x"));
    const reconnected = await connect("echo", { home: daemon.home, autostart: false, handoff: false });
    await reconnected.request(Lane.ECHO, Buffer.from("y"));
    assert.equal(handed.path, "handoff");
    assert.equal(reconnected.path, "reconnect");
    const m = await scrape();
    assert.equal(value(m, "quire_hellos_total"), 2);
    assert.equal(value(m, "quire_negotiated_total", { path: "handoff" }), 1);
    assert.equal(value(m, "quire_negotiated_total", { path: "reconnect" }), 1);
    assert.equal(value(m, "quire_handoff_ack_seconds_count", { service: "echo" }), 1);
    assert.ok(value(m, "quire_handoff_ack_seconds_sum", { service: "echo" })! > 0);
    assert.equal(value(m, "quire_backend_up", { service: "echo" }), 1);
    assert.equal(value(m, "quire_backend_restarts_total", { service: "echo" }), 0);
    assert.equal(value(m, "quire_backend_metrics_up", { service: "echo" }), 1);
    handed.close();
    reconnected.close();
  });

  test("a completed CI run is counted, timed and its output measured; pty sessions are counted", async () => {
    const repo = repos.make({ "quire.yml": "jobs:\n  a:\n    steps: [ 'seq 1 1000' ]\n" });
    const run = await quirectlJson(daemon.home, ["run", join(repo, "quire.yml"), "--wait"]);
    assert.equal(run.state, "complete");
    const ptys = await PtyClient.connect({ home: daemon.home, autostart: false });
    await ptys.start({ name: "sleeper", file: "sh", args: ["-c", "echo started; sleep 30"] });

    const m = await scrape();
    assert.equal(value(m, "quire_ci_runs", { service: "ci", state: "complete", failure_kind: "" }), 1);
    assert.equal(value(m, "quire_ci_steps_running", { service: "ci" }), 0);
    assert.equal(value(m, "quire_ci_run_duration_seconds_count", { service: "ci", state: "complete" }), 1);
    assert.ok(value(m, "quire_ci_output_bytes_total", { service: "ci" })! >= 3893, "seq 1 1000 prints 3893 bytes");
    assert.ok(value(m, "quire_store_bytes", { file: "quire.db" })! > 0);
    assert.equal(value(m, "quire_pty_sessions", { service: "pty", state: "running" }), 1);
    await ptys.kill("sleeper");
    ptys.close();

    const cli = await quirectl(daemon.home, ["metrics"]);
    assert.equal(cli.code, 0, cli.stderr);
    parsePrometheus(cli.stdout);
    const json = await quirectlJson(daemon.home, ["metrics"]);
    const runs = json.metrics.find((f: { name: string }) => f.name === "quire_ci_runs");
    assert.equal(runs.type, "gauge");
    assert.deepEqual(runs.samples.find((s: { labels: Record<string, string> }) => s.labels.state === "complete").labels, {
      service: "ci",
      state: "complete",
      failure_kind: "",
    });
  });
});
