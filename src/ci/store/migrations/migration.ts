/** One schema change: `up` is SQL run once, in a transaction, to go from `version - 1` to `version`. */
export interface Migration {
  readonly version: number;
  readonly up: string;
  /**
   * `up` makes a table anew that others refer to (SQLite cannot change a CHECK in place): it runs with
   * foreign keys off, as SQLite's own procedure for such changes has it (else dropping the old table
   * would delete the rows referring to it), and the references are checked before it commits.
   */
  readonly remakesTables?: boolean;
}
