// A file that commands a test starts (CI steps, PTY sessions) wait for, so that they go on when the test
// says, not after a sleep that is long enough on a quiet machine.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

// A sandboxed CI step sees the machine read-only but has a /tmp of its own, where a gate under the
// system's temporary directory would never open for it: such gates live under /var/tmp instead.
const VISIBLE_TMP = "/var/tmp";
const made: string[] = [];
process.once("exit", () => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export class Gate {
  readonly path: string;

  constructor(dir: string, name = "gate") {
    const underTmp = resolve(dir).startsWith(`${resolve(tmpdir())}/`);
    const home = underTmp && existsSync(VISIBLE_TMP) ? mkdtempSync(join(VISIBLE_TMP, "quire-gate-")) : dir;
    if (home !== dir) made.push(home);
    this.path = join(home, name);
    if (this.path.includes("'")) throw new Error(`a gate's path is quoted for the shell: ${this.path}`);
  }

  /** A shell command that returns once the gate is open. */
  get wait(): string {
    return `until [ -e '${this.path}' ]; do sleep 0.01; done`;
  }

  open(): void {
    writeFileSync(this.path, "");
  }
}
