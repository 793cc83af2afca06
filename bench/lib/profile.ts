// `--profile`: the broker and its backends run with --cpu-prof during the connect bench; each .cpuprofile
// (open it in Chrome DevTools or speedscope) is summarised here as the functions with the most self time.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { note } from "./report.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Node flags that write a profile into `dir` when the process exits, sampling every 100 µs. */
export function profileFlags(dir: string): string[] {
  return ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "100"];
}

/** Prints, for each profile in `dir`, the `top` functions by self time (idle excluded). */
export function summariseProfiles(dir: string, names: Map<number, string>, top = 15): void {
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith(".cpuprofile"))
    .sort()) {
    const pid = Number(/\.(\d+)\.\d+\.\d+\.cpuprofile$/.exec(file)?.[1]);
    const profile = JSON.parse(readFileSync(join(dir, file), "utf8")) as CpuProfile;
    const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
    const self = new Map<string, number>();
    let busy = 0;
    profile.samples.forEach((id, i) => {
      const frame = byNode.get(id)!.callFrame;
      if (frame.functionName === "(idle)") return;
      const dt = profile.timeDeltas[i] ?? 0;
      const where = frame.url
        ? `${frame.url.replace(/^.*\/(dist|node_modules)\//, "$1/").replace(/^node:/, "")}:${frame.lineNumber + 1}`
        : "";
      const key = `${frame.functionName || "(anonymous)"} ${where}`.trim();
      self.set(key, (self.get(key) ?? 0) + dt);
      busy += dt;
    });
    note(`profile ${join(dir, file)} (${names.get(pid) ?? `pid ${pid}`}): ${(busy / 1000).toFixed(0)} ms busy; self time:`);
    for (const [key, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      note(`  ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${key}`);
    }
  }
}
