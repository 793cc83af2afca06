// Steps find `quirectl` on their PATH: a small launcher in the home's bin/ that runs this install's CLI
// with the node that runs the daemon.
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** bin/quirectl.js of this package (dist/src/ci/runner/ -> package root). */
const QUIRECTL_JS = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "..", "bin", "quirectl.js");

/** Writes the launcher into `binDir` and returns that directory, for the front of PATH. */
export function installQuirectlShim(binDir: string): string {
  mkdirSync(binDir, { recursive: true, mode: 0o700 });
  if (process.platform === "win32") {
    writeFileSync(join(binDir, "quirectl.cmd"), `@"${process.execPath}" "${QUIRECTL_JS}" %*\r\n`);
  } else {
    const path = join(binDir, "quirectl");
    writeFileSync(path, `#!/bin/sh\nexec ${shellQuote(process.execPath)} ${shellQuote(QUIRECTL_JS)} "$@"\n`);
    chmodSync(path, 0o755);
  }
  return binDir;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}
