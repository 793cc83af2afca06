// The live view: the frame run-view.ts draws, redrawn in place on a terminal while the run runs (log-update
// does the cursor work). A module of its own so that only a command drawing on a terminal loads log-update.
import { createLogUpdate } from "log-update";
import type { CiJob, CiRun, CiStep } from "../gen/quire/v1/ci.js";
import { frame, type RunView } from "./run-view.js";
import { RENDER_MS, type StepTails } from "./step-tails.js";

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/** The live view; with `tails`, each running step's line ends with the last line of its output. */
export function liveView(stream: NodeJS.WriteStream = process.stdout, tails?: StepTails): RunView {
  const draw = createLogUpdate(stream, { showCursor: false });
  let run: CiRun | undefined;
  let tick = 0;
  const lastLine = tails && ((job: CiJob, step: CiStep) => tails.lastLine(job.name, step.attempt, step.name));
  // Fitted to the terminal each time: log-update keeps only the last `rows` lines of a taller frame.
  const render = () =>
    run && draw(frame(run, SPINNER[tick++ % SPINNER.length]!, Date.now(), { rows: stream.rows, columns: stream.columns }, lastLine));
  const timer = setInterval(render, RENDER_MS);
  let stopped = false;
  return {
    update(next) {
      if (stopped) return;
      run = next;
      tails?.watch(next);
      render();
    },
    done() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      tails?.stop();
      render();
      draw.done();
    },
  };
}
