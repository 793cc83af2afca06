// Text that may hold `${{ expression }}` parts, as GitHub Actions reads it: the grammar, operators,
// literals and built-in functions are GitHub's own implementation (@actions/expressions); this module
// finds the parts, checks each against the contexts a field may use, and evaluates them.
import { data, Evaluator, Lexer, Parser, type Expr } from "@actions/expressions";
import type { FunctionDefinition } from "@actions/expressions/funcs/info";

/** A context a field may name (`github`, `matrix`, ...), as GitHub's context-availability table lists them. */
export type ContextName = "github" | "env" | "vars" | "matrix" | "strategy" | "secrets" | "steps" | "needs" | "job" | "runner" | "inputs";

/** Functions beyond the built-ins: the status checks and hashFiles, where a field may use them. */
export type ExtraFunction = "success" | "failure" | "always" | "cancelled" | "hashFiles";

const ARITY: Record<ExtraFunction, [number, number]> = {
  success: [0, 0],
  failure: [0, 0],
  always: [0, 0],
  cancelled: [0, 0],
  hashFiles: [1, 255],
};

export interface TemplatePart {
  /** Literal text, or the source of one expression (between `${{` and `}}`, trimmed). */
  text: string;
  expression: boolean;
  /** Offset of the part in the template (for an expression: of its `${{`). */
  offset: number;
}

/** A problem with one expression: what is wrong, and the offset in the template where it starts. */
export interface ExpressionProblem {
  offset: number;
  message: string;
}

/** Splits `text` at its `${{ }}` parts. An unclosed `${{` is reported, not silently kept as text. */
export function splitTemplate(text: string): { parts: TemplatePart[]; problem?: ExpressionProblem } {
  const parts: TemplatePart[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf("${{", at);
    if (open < 0) break;
    const close = closingBraces(text, open + 3);
    if (close < 0) return { parts, problem: { offset: open, message: "`${{` is not closed by `}}`" } };
    if (open > at) parts.push({ text: text.slice(at, open), expression: false, offset: at });
    parts.push({ text: text.slice(open + 3, close).trim(), expression: true, offset: open });
    at = close + 2;
  }
  if (at < text.length || parts.length === 0) parts.push({ text: text.slice(at), expression: false, offset: at });
  return { parts };
}

/** The `}}` that closes an expression starting at `from`, skipping string literals ('it''s'). */
function closingBraces(text: string, from: number): number {
  let inString = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === "'") inString = !inString;
    else if (!inString && c === "}" && text[i + 1] === "}") return i;
  }
  return -1;
}

/** Whether a template holds any expression. */
export function hasExpression(text: string): boolean {
  return text.includes("${{");
}

/** Parses one expression's source; throws the library's ExpressionError for a bad one. */
export function parseExpression(source: string, contexts: readonly ContextName[], functions: readonly ExtraFunction[]): Expr {
  const { tokens } = new Lexer(source).lex();
  const extra = functions.map((name) => ({ name, minArgs: ARITY[name][0], maxArgs: ARITY[name][1] }));
  return new Parser(tokens, [...contexts], extra).parse();
}

/** Every problem in `text`'s expressions for a field that may use `contexts` and `functions`. */
export function checkTemplate(
  text: string,
  contexts: readonly ContextName[],
  functions: readonly ExtraFunction[] = [],
): ExpressionProblem[] {
  const { parts, problem } = splitTemplate(text);
  const problems: ExpressionProblem[] = problem ? [problem] : [];
  for (const part of parts) {
    if (!part.expression) continue;
    if (part.text === "") {
      problems.push({ offset: part.offset, message: "an empty expression `${{ }}`" });
      continue;
    }
    try {
      parseExpression(part.text, contexts, functions);
    } catch (error) {
      problems.push({ offset: part.offset, message: `${(error as Error).message} in \`\${{ ${part.text} }}\`` });
    }
  }
  return problems;
}

/** Checks a condition (`if:`), which GitHub reads as an expression with or without `${{ }}`. */
export function checkCondition(text: string, contexts: readonly ContextName[], functions: readonly ExtraFunction[]): ExpressionProblem[] {
  const source = conditionSource(text);
  if (source === undefined) return [{ offset: 0, message: "a condition must be one expression, not text around `${{ }}`" }];
  try {
    parseExpression(source, contexts, functions);
    return [];
  } catch (error) {
    return [{ offset: 0, message: `${(error as Error).message} in \`${source}\`` }];
  }
}

/** `${{ x }}` alone, or a bare expression, gives its source; text mixed with `${{ }}` gives undefined. */
function conditionSource(text: string): string | undefined {
  const trimmed = text.trim();
  if (!hasExpression(trimmed)) return trimmed;
  const { parts, problem } = splitTemplate(trimmed);
  if (problem || parts.length !== 1 || !parts[0]!.expression) return undefined;
  return parts[0]!.text;
}

/** What an evaluation sees: the contexts' values (plain JSON) and the extra functions' implementations. */
export interface Scope {
  contexts: Partial<Record<ContextName, unknown>>;
  /** The job's status so far, for success(), failure(), cancelled(); always() is always true. */
  status?: { failed: boolean; cancelled: boolean };
  /** hashFiles(patterns...): the hash of the matching files, "" when none match. */
  hashFiles?: (patterns: string[]) => string;
}

function definitions(scope: Scope): Map<string, FunctionDefinition> {
  const status = scope.status ?? { failed: false, cancelled: false };
  const bool = (value: boolean) => () => new data.BooleanData(value);
  const map = new Map<string, FunctionDefinition>();
  map.set("success", { name: "success", minArgs: 0, maxArgs: 0, call: bool(!status.failed && !status.cancelled) });
  map.set("failure", { name: "failure", minArgs: 0, maxArgs: 0, call: bool(status.failed && !status.cancelled) });
  map.set("cancelled", { name: "cancelled", minArgs: 0, maxArgs: 0, call: bool(status.cancelled) });
  map.set("always", { name: "always", minArgs: 0, maxArgs: 0, call: bool(true) });
  // The evaluator looks functions up by their lower-cased name.
  map.set("hashfiles", {
    name: "hashFiles",
    minArgs: 1,
    maxArgs: 255,
    call: (...args) => new data.StringData(scope.hashFiles ? scope.hashFiles(args.map((a) => a.coerceString())) : ""),
  });
  return map;
}

const ALL_CONTEXTS: ContextName[] = ["github", "env", "vars", "matrix", "strategy", "secrets", "steps", "needs", "job", "runner", "inputs"];
const ALL_FUNCTIONS: ExtraFunction[] = ["success", "failure", "always", "cancelled", "hashFiles"];

function evaluateSource(source: string, scope: Scope): data.ExpressionData {
  const expr = parseExpression(source, ALL_CONTEXTS, ALL_FUNCTIONS);
  const contexts = JSON.parse(JSON.stringify(withEveryContext(scope.contexts)), data.reviver) as data.Dictionary;
  return new Evaluator(expr, contexts, definitions(scope)).evaluate();
}

/** Contexts a field may name but that hold nothing here read as empty objects, as on GitHub. */
function withEveryContext(contexts: Scope["contexts"]): Record<string, unknown> {
  const all: Record<string, unknown> = {};
  for (const name of ALL_CONTEXTS) all[name] = contexts[name] ?? {};
  return all;
}

/** The text with every `${{ }}` replaced by its value as a string (GitHub's coercion: null is ""). */
export function evaluateTemplate(text: string, scope: Scope): string {
  if (!hasExpression(text)) return text;
  return splitTemplate(text)
    .parts.map((part) => (part.expression ? evaluateSource(part.text, scope).coerceString() : part.text))
    .join("");
}

/** A value that is one whole `${{ }}` keeps its type (fromJSON of a list stays a list); other text is a string. */
export function evaluateValue(text: string, scope: Scope): unknown {
  const { parts } = splitTemplate(text.trim());
  if (parts.length === 1 && parts[0]!.expression) return JSON.parse(JSON.stringify(evaluateSource(parts[0]!.text, scope), data.replacer));
  return evaluateTemplate(text, scope);
}

/**
 * A condition's truth. GitHub adds `success() &&` to a condition that calls no status function, so a
 * step after a failure is skipped unless its condition says otherwise.
 */
export function evaluateCondition(text: string | null, scope: Scope): boolean {
  const source = text === null || text.trim() === "" ? "success()" : conditionSource(text);
  // Text around `${{ }}` (refused when a file is read) reads as GitHub reads it: a string, true unless empty.
  if (source === undefined) return evaluateTemplate(text!, scope) !== "";
  const guarded = /\b(success|failure|always|cancelled)\s*\(/i.test(source) ? source : `success() && (${source})`;
  return truthy(evaluateSource(guarded, scope));
}

function truthy(value: data.ExpressionData): boolean {
  switch (value.kind) {
    case data.Kind.Null:
      return false;
    case data.Kind.Boolean:
      return (value as data.BooleanData).value;
    case data.Kind.Number: {
      const n = (value as data.NumberData).value;
      return n !== 0 && !Number.isNaN(n);
    }
    case data.Kind.String:
      return (value as data.StringData).value !== "";
    default:
      return true;
  }
}
