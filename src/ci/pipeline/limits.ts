// Bounds on a pipeline file, so that a small hostile file cannot make the parser, the store or the runner
// do unbounded work (YAML aliases can make a 44 KB file describe a million steps).

/** The whole file, checked before it is parsed (or read). */
export const MAX_PIPELINE_BYTES = 1024 * 1024;

export const PIPELINE_LIMITS = {
  jobs: 500,
  stepsPerJob: 1_000,
  /** Over all jobs. */
  steps: 5_000,
  /** One step's `run`, in UTF-8 bytes: it goes into an argv, and the kernel caps one argument at 128 KiB. */
  runBytes: 64 * 1024,
  /**
   * YAML nodes reached through aliases, counted as they are expanded (an alias to a list of ten steps
   * costs the list, its steps and everything in them, however deeply aliased). Bounds the parser's work
   * the way yaml's `maxAliasCount` bounds its `toJS()`, which the parser does not use: it walks the
   * document's nodes to keep their positions, so it is the one expanding aliases.
   */
  aliasNodes: 200_000,
} as const;
