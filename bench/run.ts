// npm run bench [-- --json] [-- --quick] [-- --only NAME[,NAME]]: every figure as a ratio against a baseline
// measured in this run. --only runs just the named benches (framing, connect, hello, throughput, runtime).
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
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt < 0 ? undefined : new Set((process.argv[onlyAt + 1] ?? "").split(","));
const wanted = (name: string): boolean => only === undefined || only.has(name);
note(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}${quick ? ", --quick" : ""}`);

const dir = mkdtempSync(join(tmpdir(), "quire-bench-"));
const daemon = await startBenchDaemon();
const raw = await startRawEcho(dir);
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
