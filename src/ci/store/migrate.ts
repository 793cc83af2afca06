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
      if (m.remakesTables) {
        const broken = db.pragma("foreign_key_check") as { table: string; parent: string }[];
        if (broken.length > 0) throw new Error(`${broken.length} rows of ${broken[0]!.table} refer to no row of ${broken[0]!.parent}`);
      }
      db.pragma(`user_version = ${m.version}`);
    } catch (err) {
      throw new StoreMigrationError(file, m.version, err);
    }
  });
  // Immediate: a second process opening the same file waits, then sees the version already applied.
  for (const m of migrations) {
    // Foreign keys can only be turned off outside a transaction.
    if (m.remakesTables) db.pragma("foreign_keys = OFF");
    try {
      apply.immediate(m);
    } finally {
      if (m.remakesTables) db.pragma("foreign_keys = ON");
    }
  }
}

function userVersion(db: Database): number {
  return db.pragma("user_version", { simple: true }) as number;
}
