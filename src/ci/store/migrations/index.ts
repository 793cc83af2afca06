import { migration as initial } from "./0001-initial.js";
import { migration as annotationsSecrets } from "./0002-annotations-secrets.js";

/** One schema change: `up` is SQL run once, in a transaction, to go from `version - 1` to `version`. */
export interface Migration {
  readonly version: number;
  readonly up: string;
}

/** Every migration, in the order they apply; versions are 1, 2, ... with no gaps. */
export const migrations: readonly Migration[] = [initial, annotationsSecrets];
