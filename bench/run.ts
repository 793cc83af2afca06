// npm run bench [-- --json] [-- --quick] [-- --only ci,output,runtime,workspace,ui] [-- --profile [DIR]]: every figure as a ratio against a baseline measured in this run.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { benchCache } from "./cache.js";
import { benchCi } from "./ci.js";
import { benchCli } from "./cli.js";
import { benchConnect, benchConnectRawClient, benchEchoAfter } from "./connect.js";
import { benchFraming } from "./framing.js";
import { benchHello } from "./hello.js";
import { benchOutput } from "./output.js";
import { benchRemoteCache } from "./remote-cache.js";
import { benchRuntime } from "./runtime.js";
import { profileFlags, summariseProfiles } from "./lib/profile.js";
import { note } from "./lib/report.js";
import { startBenchDaemon, startRawEcho, type TestDaemon } from "./lib/servers.js";
import { benchThroughput } from "./throughput.js";
import { benchUi } from "./ui.js";
import { benchWorkspace } from "./workspace.js";

const quick = process.argv.includes("--quick");
note(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}${quick ? ", --quick" : ""}`);

/** `--only NAME[,NAME]` runs just those benches. */
const onlyFlag = process.argv.indexOf("--only");
const only = onlyFlag >= 0 ? new Set(process.argv[onlyFlag + 1]?.split(",")) : undefined;
const wanted = (name: string) => !only || only.has(name);
// Before any daemon starts: its backends' start-up would share the CPUs with this CPU-bound bench.
if (wanted("framing")) benchFraming(quick ? 20_000 : 200_000);

const dir = mkdtempSync(join(tmpdir(), "quire-bench-"));
const daemon = await startBenchDaemon();
const raw = await startRawEcho(dir);
/** `--profile [DIR]`: CPU profiles of the broker and its backends during the connect and ci benches (and the output bench), each in DIR/NAME. */
const profileFlag = process.argv.indexOf("--profile");
const profileArg = process.argv[profileFlag + 1];
const profileDir =
  profileFlag < 0 ? undefined : resolve(profileArg && !profileArg.startsWith("--") ? profileArg : `quire-profile-${Date.now()}`);
if (profileDir) mkdirSync(profileDir, { recursive: true });
/** Runs `bench` against the shared daemon or, with --profile, against one of its own whose processes write CPU profiles into DIR/NAME. */
async function maybeProfiled(name: string, bench: (on: TestDaemon) => Promise<void>): Promise<void> {
  if (!profileDir) return bench(daemon);
  const dir = join(profileDir, name);
  mkdirSync(dir, { recursive: true });
  const profiled = await startBenchDaemon(profileFlags(dir));
  await bench(profiled);
  const names = new Map([
    [profiled.process.pid!, "broker"],
    ...(await profiled.backendPids()).map((pid) => [pid, "backend"] as [number, string]),
  ]);
  await profiled.stop();
  summariseProfiles(dir, names);
}

try {
  if (wanted("connect")) {
    await maybeProfiled("connect", (on) => benchConnect(on, quick ? 250 : 2_000));
    await benchConnectRawClient(daemon, raw.path, quick ? 250 : 2_000);
    await benchEchoAfter(daemon, quick ? 2_000 : 20_000);
  }
  if (wanted("hello")) await benchHello(daemon, raw.path, quick ? 300 : 2_000);
  if (wanted("throughput")) await benchThroughput(daemon, raw.path, quick ? 0.1 : 1);
  if (wanted("runtime")) await benchRuntime(quick);
  if (wanted("ci")) await maybeProfiled("ci", (on) => benchCi(on, quick));
  if (wanted("output")) await benchOutput(quick, profileDir && join(profileDir, "output"));
  if (wanted("cli")) await benchCli(daemon, quick);
  if (wanted("workspace")) await benchWorkspace(daemon, quick);
  if (wanted("cache")) await benchCache(daemon, quick);
  if (wanted("remote-cache")) await benchRemoteCache();
  if (wanted("ui")) await benchUi(daemon, quick);
} finally {
  raw.child.kill();
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
}
