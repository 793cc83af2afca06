// The fakes the scheduler's tests run RunExecution with: a step launcher whose steps end when the test
// says (a script `exit N` ends at once with code N; a step with a timeout ends timed out when it passes,
// as the runtime would end it), and a leftover killer that records what it is asked and can be held.
import type { LeftoverKiller } from "../../../src/ci/runner/leftovers.js";
import type { LaunchedStep, StepExit, StepLauncher, StepRequest } from "../../../src/ci/runner/step-launcher.js";

export class FakeStep implements LaunchedStep {
  readonly request: StepRequest;
  readonly result: Promise<StepExit>;
  /** How often the execution asked to stop it. */
  stops = 0;
  /** How often the execution asked to end what it left running. */
  leftoversEnded = 0;
  #resolve!: (exit: StepExit) => void;
  #ended = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(request: StepRequest) {
    this.request = request;
    this.result = new Promise((resolve) => (this.#resolve = resolve));
    if (request.timeoutMs !== null)
      this.#timer = setTimeout(() => this.end({ exitCode: null, signal: "SIGTERM", timedOut: true }), request.timeoutMs);
  }

  get job(): string {
    return this.request.env.QUIRE_JOB!;
  }

  get step(): string {
    return this.request.env.QUIRE_STEP!;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Ends the step as the test decides (by default: exit 0, no output); later ends change nothing. */
  end(exit: Partial<StepExit> = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#resolve({ exitCode: 0, signal: null, timedOut: false, tail: Buffer.alloc(0), startError: null, internalError: null, ...exit });
  }

  exit(code: number, output = ""): void {
    this.end({ exitCode: code, tail: Buffer.from(output) });
  }

  /** As a terminated tree ends: by SIGTERM, unless it had ended already. */
  stop(): Promise<void> {
    this.stops++;
    this.end({ exitCode: null, signal: "SIGTERM" });
    return this.result.then(() => undefined);
  }

  async endLeftovers(): Promise<void> {
    this.leftoversEnded++;
  }
}

export class FakeLauncher implements StepLauncher {
  /** Every step launched, in launch order. */
  readonly steps: FakeStep[] = [];
  readonly #waiters = new Set<() => void>();

  launch(request: StepRequest): FakeStep {
    const step = new FakeStep(request);
    this.steps.push(step);
    const exit = /^exit (\d+)$/.exec(request.script);
    if (exit) step.exit(Number(exit[1]));
    for (const check of [...this.#waiters]) check();
    return step;
  }

  /** The steps launched for `job`, every attempt's, in launch order. */
  of(job: string): FakeStep[] {
    return this.steps.filter((s) => s.job === job);
  }

  /** The steps launched and not yet ended, as `job/step` names. */
  running(): string[] {
    return this.steps.filter((s) => !s.ended).map((s) => `${s.job}/${s.step}`);
  }

  /** Resolves with the `nth` launch (1-based, counting every attempt) of a step of `job`, once it has happened. */
  launched(job: string, nth = 1): Promise<FakeStep> {
    const find = () => this.of(job)[nth - 1];
    return new Promise((resolve) => {
      const check = () => {
        const step = find();
        if (!step) return;
        this.#waiters.delete(check);
        resolve(step);
      };
      this.#waiters.add(check);
      check();
    });
  }
}

export class FakeLeftovers implements LeftoverKiller {
  /** What it was asked, in order: `job NAME` or `run`. */
  readonly calls: string[] = [];
  #held: Promise<void> | undefined;
  readonly #waiters = new Set<() => void>();

  /** Makes every later endJob wait until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#held = new Promise((resolve) => (release = resolve));
    return () => {
      this.#held = undefined;
      release();
    };
  }

  /** Not recorded: `calls` lists what ends something. */
  startJob(): void {}

  async endJob(job: string): Promise<void> {
    this.#record(`job ${job}`);
    await this.#held;
  }

  async endRun(): Promise<void> {
    this.#record("run");
  }

  /** Resolves once `call` has been asked for `times` times. */
  asked(call: string, times = 1): Promise<void> {
    const count = () => this.calls.filter((c) => c === call).length;
    return new Promise((resolve) => {
      const check = () => {
        if (count() < times) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
      check();
    });
  }

  #record(call: string): void {
    this.calls.push(call);
    for (const check of [...this.#waiters]) check();
  }
}

/** The execution's `changed` callback, and a wait for a condition on the store to hold after some change. */
export class Changes {
  readonly #waiters = new Set<() => void>();

  readonly notify = (): void => {
    for (const check of [...this.#waiters]) check();
  };

  until(condition: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
      check();
    });
  }
}
