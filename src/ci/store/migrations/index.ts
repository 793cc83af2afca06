import { migration as initial } from "./0001-initial.js";
import { migration as annotationsSecrets } from "./0002-annotations-secrets.js";
import { migration as idempotencyKeys } from "./0003-idempotency-keys.js";
import { migration as stepTokens } from "./0004-step-tokens.js";
import { migration as triggers } from "./0005-triggers.js";
import { migration as cachedJobs } from "./0006-cached-jobs.js";
import { migration as rerunsRetention } from "./0007-reruns-retention.js";
import { migration as concurrencyGroups } from "./0008-concurrency-groups.js";
import type { Migration } from "./migration.js";

export type { Migration } from "./migration.js";

/** Every migration, in the order they apply; versions are 1, 2, ... with no gaps. */
export const migrations: readonly Migration[] = [
  initial,
  annotationsSecrets,
  idempotencyKeys,
  stepTokens,
  triggers,
  cachedJobs,
  rerunsRetention,
  concurrencyGroups,
];
