// What a complete job left that a later job of the same inputs is given instead of running: the values
// of a workflow job's `outputs` and the files of quire.yml's `outputs:` paths, kept under the job's
// inputs in QUIRE_HOME/cache/results/<inputs>. Whether a job of those inputs completed is the store's to
// say (a complete job with `inputs` recorded); this is only what it left.
import type { Job } from "../pipeline/model.js";
import type { OutputsKeeper } from "../workspace/kept-outputs.js";
import { EntryStore } from "./entry-store.js";

interface ResultMeta {
  /** A workflow job's outputs, by name, as its dependents read them in `needs.<job>.outputs`. */
  outputs: Record<string, string>;
}

export class JobResults {
  readonly #entries: EntryStore<ResultMeta>;

  /** Entries under `root` (QUIRE_HOME/cache). */
  constructor(root: string) {
    this.#entries = new EntryStore(root, "results");
  }

  /** Whether a job leaves anything to keep besides having completed. */
  static leavesSomething(job: Job): boolean {
    return job.outputPaths.length > 0 || Object.keys(job.outputs).length > 0;
  }

  /**
   * Keeps what `job` (of inputs `inputs`, its steps started in `dir`) left; an entry there already stays.
   * With `kept`, the workspace keeps the paths it saved as a copy of the entry.
   */
  async keep(job: Job, inputs: string, dir: string, outputs: Record<string, string>, now: number, kept?: OutputsKeeper): Promise<void> {
    if (!JobResults.leavesSomething(job)) return;
    await this.#entries.save(inputs, dir, job.outputPaths, { outputs }, now, { keepEmpty: true, kept });
  }

  /** What the job of `inputs` left as it was kept: its outputs, and its paths under `dir`; undefined when nothing was kept. */
  async kept(inputs: string): Promise<{ outputs: Record<string, string>; paths: string[]; dir: string } | undefined> {
    const entry = await this.#entries.read(inputs);
    return entry && { outputs: entry.outputs, paths: entry.paths, dir: this.#entries.filesOf(inputs) };
  }

  /**
   * Keeps a result of `job` made elsewhere: `outputs`, and what `write` puts under the directory it is
   * given (EntryStore.saveWritten: the paths it wrote, each flushed); an entry there already stays.
   */
  async keepWritten(
    job: Job,
    inputs: string,
    outputs: Record<string, string>,
    now: number,
    write: (files: string) => Promise<string[]>,
  ): Promise<void> {
    if (!JobResults.leavesSomething(job)) return;
    await this.#entries.saveWritten(inputs, write, { outputs }, now, true);
  }

  /**
   * What the job of `inputs` left: its outputs, and how to put its files back under `dir` (done only
   * when a job that runs needs them; what `kept` holds of them is taken instead); undefined when nothing was kept.
   */
  async find(
    job: Job,
    inputs: string,
    dir: string,
    kept?: OutputsKeeper,
  ): Promise<{ outputs: Record<string, string>; putBack(): Promise<void> } | undefined> {
    if (!JobResults.leavesSomething(job)) return { outputs: {}, putBack: async () => {} };
    const entry = await this.#entries.read(inputs);
    if (!entry) return undefined;
    return { outputs: entry.outputs, putBack: () => this.#entries.restore(inputs, entry, dir, kept) };
  }
}
