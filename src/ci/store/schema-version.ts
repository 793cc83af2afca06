// The schema version this build writes: the version of the last migration (a test holds them equal).
// Stored in the file as PRAGMA user_version.
export const SCHEMA_VERSION = 8;
