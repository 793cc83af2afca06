// A look at a store without changing it (quirectl doctor): its schema version and SQLite's integrity check.
import Database from "better-sqlite3";

export interface StoreInspection {
  /** PRAGMA user_version: the schema version the file is at. */
  version: number;
  /** PRAGMA integrity_check's rows: ["ok"] for a sound file. */
  integrity: string[];
}

/** Opens `file` read-only (it must exist) and reads its version and integrity; never migrates or writes. */
export function inspectStore(file: string): StoreInspection {
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 2_000 });
  try {
    const version = db.pragma("user_version", { simple: true }) as number;
    const rows = db.pragma("integrity_check(20)") as { integrity_check: string }[];
    return { version, integrity: rows.map((r) => r.integrity_check) };
  } finally {
    db.close();
  }
}
