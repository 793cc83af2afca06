// `quirectl run --wait` rings the terminal's bell when the run ends, so a person who looked away hears
// it: only on a terminal, only when bell.enabled, and only for a run that took longer than bell.after.
import type { CiRun } from "../client/ci.js";
import type { Settings } from "../ci/settings/schema.js";

/** Rings (writes BEL) when the settings say this run earns it; returns whether it rang. */
export function ringBell(
  run: CiRun,
  settings: Pick<Settings, "bell.enabled" | "bell.after">,
  stream: NodeJS.WriteStream = process.stdout,
): boolean {
  if (!stream.isTTY || !settings["bell.enabled"]) return false;
  const took = Number((run.finishedUnixMs || BigInt(Date.now())) - run.createdUnixMs);
  if (took < settings["bell.after"]) return false;
  stream.write("\x07");
  return true;
}
