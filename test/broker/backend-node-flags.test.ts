// A backend runs with quired's own node flags and its service's (src/core/services.ts): the ci backend
// bounds its heap's growth, because every step's fork copies its page tables; the others run as quired does.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { connect } from "../../src/client/connect.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";

const QUIRED_FLAG = "--stack-size=984";
let daemon: TestDaemon;
before(async () => (daemon = await startTestDaemon([], undefined, {}, [QUIRED_FLAG])));
after(() => daemon.stop());

async function nodeArgsOf(service: string): Promise<string[]> {
  const client = await connect(service, { home: daemon.home, autostart: false });
  client.close();
  const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home });
  const { pid } = status!.backends.find((b) => b.service === service)!;
  const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  return argv.slice(
    1,
    argv.findIndex((a) => a.endsWith("main.js")),
  );
}

test("the ci backend bounds its heap's growth, after quired's own flags; echo has quired's flags only", {
  skip: process.platform !== "linux" && "reads /proc",
}, async () => {
  assert.deepEqual(await nodeArgsOf("ci"), [QUIRED_FLAG, "--max-semi-space-size=1", "--heap-growing-percent=50"]);
  assert.deepEqual(await nodeArgsOf("echo"), [QUIRED_FLAG]);
});
