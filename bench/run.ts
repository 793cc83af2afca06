// npm run bench [-- --json] [-- --quick] [-- --only runtime,hello]: every figure as a ratio against a baseline measured in this run.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { benchConnect } from "./connect.js";
import { benchFraming } from "./framing.js";
import { benchHello } from "./hello.js";
import { benchRuntime } from "./runtime.js";
import { note } from "./lib/report.js";
import { startBenchDaemon, startRawEcho } from "./lib/servers.js";
import { benchThroughput } from "./throughput.js";

const quick = process.argv.includes("--quick");
note(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}${quick ? ", --quick" : ""}`);

const dir = mkdtempSync(join(tmpdir(), "quire-bench-"));
const daemon = await startBenchDaemon();
const raw = await startRawEcho(dir);
/** `--only NAME[,NAME]` runs just those benches. */
const onlyFlag = process.argv.indexOf("--only");
const only = onlyFlag >= 0 ? new Set(process.argv[onlyFlag + 1]?.split(",")) : undefined;
const wanted = (name: string) => !only || only.has(name);
try {
  if (wanted("framing")) benchFraming(quick ? 20_000 : 200_000);
  if (wanted("connect")) await benchConnect(daemon, quick ? 250 : 2_000);
  if (wanted("hello")) await benchHello(daemon, raw.path, quick ? 300 : 2_000);
  if (wanted("throughput")) await benchThroughput(daemon, raw.path, quick ? 0.1 : 1);
  if (wanted("runtime")) await benchRuntime(quick);
} finally {
  raw.child.kill();
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
}
