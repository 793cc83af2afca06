/** One schema change: `up` is SQL run once, in a transaction, to go from `version - 1` to `version`. */
export interface Migration {
  readonly version: number;
  readonly up: string;
}
