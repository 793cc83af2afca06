import type { Database } from "better-sqlite3";
import { StoreMigrationError, StoreTooNewError } from "./errors.js";
import { migrations, type Migration } from "./migrations/index.js";
import { SCHEMA_VERSION } from "./schema-version.js";

/** Brings the file to SCHEMA_VERSION: each missing migration once, each in its own immediate transaction. */
export function migrate(db: Database, file: string): void {
  const apply = db.transaction((m: Migration) => {
    const version = userVersion(db);
    if (version > SCHEMA_VERSION) throw new StoreTooNewError(file, version, SCHEMA_VERSION);
    if (version >= m.version) return;
    try {
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    } catch (err) {
      throw new StoreMigrationError(file, m.version, err);
    }
  });
  // Immediate: a second process opening the same file waits, then sees the version already applied.
  for (const m of migrations) apply.immediate(m);
}

function userVersion(db: Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}
