// A job's `strategy.matrix` expanded into legs, with GitHub's rules: the product of the matrix's lists,
// less every combination an `exclude` entry matches, then each `include` entry added to every combination
// whose original values it does not change (or, matching none, as a leg of its own).

export type MatrixValues = Record<string, unknown>;

export interface MatrixInput {
  /** The lists, in file order (key: the values it takes). */
  axes: [string, unknown[]][];
  include: MatrixValues[];
  exclude: MatrixValues[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The legs, in GitHub's order; an empty matrix with no include gives none. */
export function expandMatrix({ axes, include, exclude }: MatrixInput): MatrixValues[] {
  let legs: MatrixValues[] = axes.length === 0 ? [] : [{}];
  for (const [key, values] of axes) legs = legs.flatMap((leg) => values.map((value) => ({ ...leg, [key]: value })));
  // An exclude entry matches a leg when each of its keys holds the same value (a partial match excludes).
  legs = legs.filter((leg) => !exclude.some((entry) => Object.entries(entry).every(([k, v]) => k in leg && same(leg[k], v))));
  const original = new Set(axes.map(([key]) => key));
  const combinations = legs.map((leg) => ({ extended: leg, base: { ...leg } }));
  const standalone: MatrixValues[] = [];
  for (const entry of include) {
    let added = false;
    for (const { extended, base } of combinations) {
      // Original values are never changed; values an earlier include added may be.
      if (Object.entries(entry).some(([k, v]) => original.has(k) && k in base && !same(base[k], v))) continue;
      Object.assign(extended, entry);
      added = true;
    }
    // An entry that fits no combination of the matrix is a leg of its own (later entries leave it alone).
    if (!added) standalone.push({ ...entry });
  }
  legs = [...combinations.map((c) => c.extended), ...standalone];
  return legs;
}

/** How GitHub names a leg: `test (20, ubuntu-latest)`, the values in the matrix's order. */
export function legName(job: string, values: MatrixValues): string {
  const shown = Object.values(values).map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
  return shown.length === 0 ? job : `${job} (${shown.join(", ")})`;
}

/** What is wrong with one entry of a matrix (`include`, `exclude`, or a list), as the fix to make; undefined: nothing. */
export function matrixEntryProblem(key: string, value: unknown): string | undefined {
  if (key === "include" || key === "exclude")
    return Array.isArray(value) && value.every((entry) => entry !== null && typeof entry === "object" && !Array.isArray(entry))
      ? undefined
      : "expected a list of mappings";
  return Array.isArray(value) && value.length > 0 ? undefined : "expected a non-empty list of values";
}

/** A matrix's plain value (JSON) as lists, include and exclude; a string saying what is wrong when it has not that shape. */
export function matrixInput(value: unknown): MatrixInput | string {
  if (value === null || typeof value !== "object" || Array.isArray(value))
    return `the matrix is ${Array.isArray(value) ? "a list" : brief(value)}, not a mapping of lists (with optional \`include\` and \`exclude\`)`;
  const input: MatrixInput = { axes: [], include: [], exclude: [] };
  for (const [key, entry] of Object.entries(value)) {
    const problem = matrixEntryProblem(key, entry);
    if (problem) return `the matrix's \`${key}\` is ${brief(entry)}: ${problem}`;
    if (key === "include" || key === "exclude") input[key] = entry as MatrixValues[];
    else input.axes.push([key, entry as unknown[]]);
  }
  return input;
}

/** A value as a reason shows it: JSON, cut short. */
function brief(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
