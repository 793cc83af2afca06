// Checks of quirectl's arguments, made before anything is sent: a bad one is a usage error (exit 2) with
// a sentence saying what was expected, never a request the daemon has to refuse or a stack trace.
import { MAX_SECRET_BYTES, MIN_SECRET_BYTES, SECRET_NAME } from "../ci/rules.js";
import { ArgumentError } from "./errors.js";

/** A run id: a positive whole number that fits a JavaScript number exactly. */
export function runId(value: unknown): number {
  return positiveInteger(value, "a run id", "a run's number as `quirectl runs` lists it, e.g. 12");
}

/** `--limit`: a positive whole number. */
export function limit(value: unknown): number {
  return positiveInteger(value, "--limit", "how many runs to list at most, e.g. 20");
}

function positiveInteger(value: unknown, what: string, example: string): number {
  const text = String(value);
  const number = /^[0-9]+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new ArgumentError(`${what} must be a positive whole number (${example}); got ${JSON.stringify(text)}`);
  }
  return number;
}

export function secretName(value: string): string {
  if (!SECRET_NAME.test(value)) {
    throw new ArgumentError(
      `${JSON.stringify(value)} is not a secret name: use capital letters, digits and _, not starting with a digit (e.g. NPM_TOKEN)`,
    );
  }
  return value;
}

/** A secret's value, refused when quire could not redact it or a step's environment could not hold it. */
export function secretValue(name: string, value: string): string {
  const bytes = Buffer.byteLength(value, "utf8");
  if (bytes === 0) throw new ArgumentError(`the value for ${name} is empty; give it on stdin: quirectl secret set ${name} < file`);
  if (bytes < MIN_SECRET_BYTES) {
    throw new ArgumentError(
      `the value for ${name} is ${bytes} byte${bytes === 1 ? "" : "s"}: a secret must be at least ${MIN_SECRET_BYTES} bytes, or quire could not redact it from logs (so short a string occurs everywhere)`,
    );
  }
  if (bytes > MAX_SECRET_BYTES) {
    throw new ArgumentError(
      `the value for ${name} is over ${MAX_SECRET_BYTES} bytes (64 KiB): it would not fit in a step's environment; keep a large secret in a file and store its path or a key to it`,
    );
  }
  return value;
}

export function annotationText(value: string): string {
  if (value.trim() === "") throw new ArgumentError("annotate needs some text: quirectl annotate TEXT");
  return value;
}

/** `--matrix key=value`, given any number of times, as one record; a value may itself hold `=`. */
export function matrixValues(values: readonly string[] | undefined): Record<string, string> {
  const matrix: Record<string, string> = {};
  for (const pair of values ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new ArgumentError(`--matrix takes key=value (e.g. --matrix node=20); got ${JSON.stringify(pair)}`);
    matrix[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return matrix;
}
