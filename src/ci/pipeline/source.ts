// The YAML document of a pipeline file, read node by node, with every failure placed at file:line:column.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, Scalar, type Document, type Node, type Pair, type YAMLMap, type YAMLSeq } from "yaml";
import { PipelineError } from "../errors.js";
import { closest } from "./suggest.js";

/** A YAML node holding a value (aliases already resolved). */
export type ValueNode = Scalar | YAMLMap | YAMLSeq;

export class PipelineSource {
  readonly #lines = new LineCounter();
  readonly #doc: Document;

  constructor(readonly file: string, text: string) {
    // prettyErrors off: we place errors ourselves and want yaml's one-line message, not its code frame.
    this.#doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false });
    const error = this.#doc.errors[0];
    if (error) {
      const { line, col } = this.#lines.linePos(error.pos[0]);
      const at = { file, line, column: col };
      if (error.code === "MULTIPLE_DOCS") throw new PipelineError(at, "a second YAML document starts here", "a pipeline file holds one document: remove the `---` separator");
      throw new PipelineError(at, `invalid YAML: ${error.message}`, "fix the syntax there");
    }
  }

  /** The top-level node; null for a file with nothing but comments and blank lines. */
  root(): ValueNode | null {
    const contents = this.#doc.contents;
    return contents === null || (isScalar(contents) && contents.value === null) ? null : this.resolve(contents, undefined);
  }

  /** Follows an alias to the node it names. */
  resolve(node: Node | null | undefined, field: string | undefined): ValueNode {
    if (isAlias(node)) {
      const target = node.resolve(this.#doc);
      if (!target) this.fail(node, field, `alias *${node.source} names no anchor`, "define `&" + node.source + "` before using it");
      return target;
    }
    if (isScalar(node) || isMap(node) || isSeq(node)) return node;
    // A pair without a value (`? key` alone) reads as an empty scalar.
    return new Scalar(null);
  }

  /** Throws a PipelineError placed at `node` (its first character), or at the start of the file without one. */
  fail(node: Node | null | undefined, field: string | undefined, problem: string, allowed: string): never {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = this.#lines.linePos(offset);
    throw new PipelineError({ file: this.file, line, column: col, field }, problem, allowed);
  }

  /** Where to point for a pair's value: the value, or the key when the value is empty (`jobs:` alone). */
  valueAt(pair: Pair): Node {
    const value = pair.value as Node | null;
    if (!value || (isScalar(value) && value.value === null && value.source === "")) return pair.key as Node;
    return value;
  }

  /**
   * The pairs of a mapping by field name, refusing fields outside `allowed` (suggesting the nearest) and
   * keys that are not plain scalars. `prefix` is the field path of the mapping (`jobs.test.`), `hint` says
   * more about what is allowed.
   */
  fields(map: YAMLMap, prefix: string, allowed: readonly string[], hint = ""): Map<string, Pair> {
    const result = new Map<string, Pair>();
    for (const pair of map.items) {
      const name = this.keyName(pair, prefix);
      if (!allowed.includes(name)) {
        const guess = closest(name, allowed);
        const problem = guess ? `unknown field (did you mean \`${guess}\`?)` : "unknown field";
        this.fail(pair.key as Node, prefix + name, problem, `allowed fields here: ${allowed.join(", ")}${hint}`);
      }
      result.set(name, pair);
    }
    return result;
  }

  /** A mapping key as text: the scalar as written (`1.10` stays `1.10`); other keys are refused. */
  keyName(pair: Pair, prefix: string): string {
    const key = pair.key as Node | null;
    if (isScalar(key) && key.value !== null) {
      return typeof key.value === "string" ? key.value : (key.source ?? String(key.value));
    }
    return this.fail(key ?? (pair.value as Node), prefix.replace(/\.$/, "") || undefined, "a key here is empty or not a plain name", "keys are names such as `jobs` or `build`");
  }
}

/** How a node reads in a message: `the string "3"`, `a list`, `nothing (null)`. */
export function describe(node: ValueNode): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a list";
  const value = node.value;
  if (value === null || value === undefined) return "nothing (null)";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 39) + "…" : value)}`;
  if (typeof value === "number" || typeof value === "bigint") return `the number ${scalarText(node)}`;
  if (typeof value === "boolean") return `the boolean ${scalarText(node)}`;
  return "a value of an unsupported type";
}

/** A number or boolean scalar as the file writes it, so `1.10` stays `1.10` and `0x1F` stays `0x1F`. */
export function scalarText(node: Scalar): string {
  return node.source || String(node.value);
}
