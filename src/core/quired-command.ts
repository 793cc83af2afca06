// How quired is started: one command line, used by autostart (`quirectl daemon start`, a client's first
// connect) and by the units `quirectl daemon install` writes, so the two cannot drift apart.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Places } from "./places.js";

/** bin/quired.js of this installation (this module runs from dist/src/core/). */
export const QUIRED_BIN = fileURLToPath(new URL("../../../bin/quired.js", import.meta.url));

export interface QuiredCommand {
  /** The absolute path of the node binary running this process. */
  file: string;
  args: string[];
}

/** quired's command line for `places` (its home, when there is one, as an absolute path) plus `flags`. */
export function quiredCommand(places: Places, flags: readonly string[] = []): QuiredCommand {
  const home = places.home ? ["--home", resolve(places.home)] : [];
  return { file: process.execPath, args: [QUIRED_BIN, ...home, ...flags] };
}
