// A step's output on its way to its log: workflow commands read first, so a value a line masks is
// redacted from that line too, then every secret redacted. The line of an `::add-mask::` command is held
// from the redactor until it ends: read in pieces, its value would otherwise go out before the mask is set.
import { Redactor } from "./redact.js";
import { WorkflowCommandScanner, type WorkflowCommand } from "./workflow-commands.js";

const EMPTY = Buffer.alloc(0);

export class StepOutput {
  readonly #redactor: Redactor;
  readonly #commands: WorkflowCommandScanner | undefined;
  /** Pieces read while an `::add-mask::` line was in progress (at most a command line's worth). */
  #masking: Buffer[] = [];

  /** `onCommand`: the step's workflow commands, for a GitHub workflow's step (none are read without it). */
  constructor(secrets: readonly string[], onCommand?: (command: WorkflowCommand) => void) {
    const redactor = new Redactor(secrets);
    this.#redactor = redactor;
    this.#commands =
      onCommand &&
      new WorkflowCommandScanner((command) => {
        if (command.kind === "mask") redactor.add(command.value);
        onCommand(command);
      });
  }

  /** Bytes are held back: a possible secret's beginning, or a mask command's line. */
  get holding(): boolean {
    return this.#masking.length > 0 || this.#redactor.holding;
  }

  /** The redacted bytes of the output so far that can go out now (`chunk` must not change afterwards). */
  push(chunk: Buffer): Buffer {
    const commands = this.#commands;
    if (commands === undefined) return this.#redactor.push(chunk);
    commands.push(chunk);
    if (commands.maskInProgress) {
      this.#masking.push(chunk);
      return EMPTY;
    }
    return this.#redactor.push(this.#release(chunk));
  }

  /** What is held as a possible secret's beginning, once output has gone quiet (Redactor.flush); a mask's line stays held. */
  flush(): Buffer {
    return this.#masking.length > 0 ? EMPTY : this.#redactor.flush();
  }

  /** The rest: the output has ended (a last mask command without its newline still counts). */
  end(): Buffer {
    this.#commands?.end();
    const rest = this.#redactor.push(this.#release(EMPTY));
    return Buffer.concat([rest, this.#redactor.end()]);
  }

  /** `chunk`, after what was held for a mask's line. */
  #release(chunk: Buffer): Buffer {
    if (this.#masking.length === 0) return chunk;
    const all = Buffer.concat([...this.#masking, chunk]);
    this.#masking = [];
    return all;
  }
}
