import { QuireError } from "../../errors.js";

/** A failure of the run store (quire.db). */
export abstract class StoreError extends QuireError {}

export class StoreOpenError extends StoreError {
  constructor(
    readonly file: string,
    why: string,
    cause?: unknown,
  ) {
    super(
      "QUIRE_ERR_STORE_OPEN",
      `cannot open the run store ${file}: ${why}; if it is damaged, move it aside (the ci backend then starts an empty one) and restart quired`,
      { cause },
    );
  }
}

export class StoreTooNewError extends StoreError {
  constructor(
    readonly file: string,
    readonly version: number,
    readonly known: number,
  ) {
    super(
      "QUIRE_ERR_STORE_TOO_NEW",
      `${file} has schema version ${version} but this quire knows versions up to ${known}; run a newer quire, or point QUIRE_HOME elsewhere`,
    );
  }
}

export class StoreMigrationError extends StoreError {
  constructor(
    readonly file: string,
    readonly version: number,
    cause: unknown,
  ) {
    super(
      "QUIRE_ERR_STORE_MIGRATION",
      `migrating ${file} to schema version ${version} failed and was rolled back: ${(cause as Error)?.message ?? cause}; is it a quire database?`,
      { cause },
    );
  }
}

export class AnnotationInvalidError extends StoreError {
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super("QUIRE_ERR_STORE_ANNOTATION_INVALID", `an annotation must hold 1 to ${limit} characters; this one has ${length}`);
  }
}

export class SecretInvalidError extends StoreError {
  constructor(
    readonly secret: string,
    what: string,
  ) {
    super("QUIRE_ERR_STORE_SECRET_INVALID", `secret ${JSON.stringify(secret)}: ${what}`);
  }
}

/** A write the disk had no room for, even once the store's reserve was given back. */
export class StoreFullError extends StoreError {
  constructor(
    readonly file: string,
    space: string,
    cause: unknown,
  ) {
    super(
      "QUIRE_ERR_STORE_FULL",
      `the run store ${file} could not be written: the disk is full (${space}); free space there (quirectl doctor shows how much is free) and try again`,
      { cause },
    );
  }
}
