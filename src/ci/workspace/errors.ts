import { QuireError } from "../../errors.js";

/**
 * A snapshot, checkout or workspace operation failed. When git failed, `command` is its argument list and
 * `stderr` what it said (also in the message).
 */
export class WorkspaceError extends QuireError {
  readonly command: string[] | undefined;
  readonly stderr: string | undefined;

  constructor(message: string, options: { cause?: unknown; command?: string[]; stderr?: string } = {}) {
    super("QUIRE_ERR_WORKSPACE", message, { cause: options.cause });
    this.command = options.command;
    this.stderr = options.stderr;
  }
}
