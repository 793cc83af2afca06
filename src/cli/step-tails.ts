// The last line of each running step's output, as a terminal would show it, for the live view: so that a
// long step (61 s of `npm install`) is seen doing something. Each active job's log is followed (one stream
// per job, as `quirectl logs ID --job J --follow` does); of the step being streamed only the end of its
// bytes is kept, and it is rendered at most every RENDER_MS, whatever the step writes. A workflow step
// inside a `::group::` shows the group's title, folded as GitHub shows it; the log itself keeps every line.
import { renderTail } from "../ci/output/screen.js";
import { foldGroupLines, groupLine, WorkflowCommandScanner } from "../ci/output/workflow-commands.js";
import type { CiLogChunk, CiRun } from "../gen/quire/v1/ci.js";

/** How often a step's last line is rendered again, at most (the live view redraws as often). */
export const RENDER_MS = 100;
/** The end of a step's output kept for its last line: far more than a line needs, even one redrawn with `\r`. */
const KEEP_BYTES = 16 * 1024;
/** Rows rendered to find the last line that is not blank. */
const RENDER_ROWS = 5;

/** Follows job `job`'s log until the job ends; rejects when the stream fails. */
export type FollowJobLog = (job: string, onChunk: (chunk: CiLogChunk) => void) => Promise<unknown>;

interface Tail {
  /** Which step's bytes these are: its attempt and name. */
  step: string;
  bytes: Buffer;
  line: string | undefined;
  changed: boolean;
  /** Reads the step's output for `::group::` and `::endgroup::`, whatever of it `bytes` has let go. */
  commands: WorkflowCommandScanner;
  /** The title of the group the step's output is in, if it is in one. */
  group: string | undefined;
}

export class StepTails {
  readonly #follow: FollowJobLog;
  readonly #followed = new Set<string>();
  /** By job: the step its log is at (steps come in order, so it is the running one) and its end. */
  readonly #tails = new Map<string, Tail>();
  readonly #timer: NodeJS.Timeout;
  #rendering = false;
  #stopped = false;

  constructor(follow: FollowJobLog) {
    this.#follow = follow;
    this.#timer = setInterval(() => void this.#render(), RENDER_MS);
  }

  /** Follows the log of every job of `run` that is active and not followed yet. */
  watch(run: CiRun): void {
    for (const job of run.jobs) {
      if (job.state !== "active" || this.#followed.has(job.name) || this.#stopped) continue;
      this.#followed.add(job.name);
      // Only a nicety of the view: a stream that fails (as the connection closes when quirectl is done)
      // leaves the step's line without its output, and nothing else.
      this.#follow(job.name, (chunk) => this.#add(chunk)).catch(() => {});
    }
  }

  /** The last line step `step` of attempt `attempt` of `job` has shown, while it is the one its job's log is at. */
  lastLine(job: string, attempt: number, step: string): string | undefined {
    const tail = this.#tails.get(job);
    return tail?.step === stepKey(attempt, step) ? tail.line : undefined;
  }

  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  #add(chunk: CiLogChunk): void {
    if (this.#stopped) return;
    const step = stepKey(chunk.attempt, chunk.step);
    let tail = this.#tails.get(chunk.job);
    if (tail?.step !== step) {
      const fresh: Tail = {
        step,
        bytes: Buffer.alloc(0),
        line: undefined,
        changed: false,
        group: undefined,
        commands: new WorkflowCommandScanner((command) => {
          if (command.kind === "group") fresh.group = command.title;
          else if (command.kind === "endgroup") fresh.group = undefined;
        }),
      };
      tail = fresh;
      this.#tails.set(chunk.job, tail);
    }
    tail.commands.push(chunk.data);
    const bytes = Buffer.concat([tail.bytes, chunk.data]);
    tail.bytes = bytes.length > KEEP_BYTES ? bytes.subarray(bytes.length - KEEP_BYTES) : bytes;
    tail.changed = true;
  }

  async #render(): Promise<void> {
    if (this.#rendering) return;
    this.#rendering = true;
    try {
      for (const tail of this.#tails.values()) {
        if (!tail.changed) continue;
        tail.changed = false;
        tail.line =
          tail.group === undefined ? foldGroupLines(await renderTail(tail.bytes, 120, RENDER_ROWS)).at(-1) : groupLine(tail.group);
      }
    } finally {
      this.#rendering = false;
    }
  }
}

function stepKey(attempt: number, step: string): string {
  return `${attempt}\0${step}`;
}
