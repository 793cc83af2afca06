// A file that commands a test starts (CI steps, PTY sessions) wait for, so that they go on when the test
// says, not after a sleep that is long enough on a quiet machine.
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export class Gate {
  readonly path: string;

  constructor(dir: string, name = "gate") {
    this.path = join(dir, name);
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
