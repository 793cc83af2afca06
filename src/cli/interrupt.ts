// Ctrl-C while `quirectl run --wait` shows a run. The run goes on in the daemon, so quirectl says so and
// how to follow or cancel it, and then leaves as a program interrupted does (killed by SIGINT); a second
// Ctrl-C within SECOND_PRESS_MS cancels the run instead, and quirectl shows how it ended.
import { printError } from "./output.js";

/** How long after the first Ctrl-C a second one cancels the run. */
export const SECOND_PRESS_MS = 2_000;

export interface InterruptHooks {
  /** Stop showing the run: what is printed next is the message. */
  stopView(): void;
  /** Cancel the run; the watch then ends with it cancelled. */
  cancel(): Promise<unknown>;
}

/** Handles SIGINT for run `id` until the returned function is called. */
export function onInterrupt(id: bigint, hooks: InterruptHooks): () => void {
  let presses = 0;
  let timer: NodeJS.Timeout | undefined;
  const dispose = () => {
    clearTimeout(timer);
    process.off("SIGINT", onSigint);
  };
  // With our handler gone, the signal does what it does to any program (a terminal's restore handlers run first).
  const leave = () => {
    dispose();
    process.kill(process.pid, "SIGINT");
  };
  function onSigint(): void {
    presses++;
    if (presses === 1) {
      hooks.stopView();
      process.stderr.write(
        `\nrun ${id} goes on in the daemon: follow it with quirectl watch ${id}, cancel it with quirectl cancel ${id} (or press Ctrl-C again now)\n`,
      );
      timer = setTimeout(leave, SECOND_PRESS_MS);
      return;
    }
    if (presses === 2) {
      clearTimeout(timer);
      process.stderr.write(`cancelling run ${id}\n`);
      hooks.cancel().catch((error: Error) => {
        printError(`run ${id} was not cancelled: ${error.message}; cancel it with quirectl cancel ${id}`);
        leave();
      });
      return;
    }
    leave();
  }
  process.on("SIGINT", onSigint);
  return dispose;
}
