import { CiError } from "../errors.js";

/** A retention bound (a quired flag or its environment variable) that is not a count, an age or a size. */
export class RetentionSettingError extends CiError {
  constructor(
    readonly setting: string,
    readonly value: string,
    expected: string,
  ) {
    super("QUIRE_ERR_RETENTION_SETTING", `${setting} ${JSON.stringify(value)} is not ${expected}, nor "unlimited"`);
  }
}
