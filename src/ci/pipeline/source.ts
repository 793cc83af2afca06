// The YAML document of a pipeline file, read node by node, with every failure placed at file:line:column.
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  Scalar,
  visit,
  type Alias,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
  type YAMLSeq,
} from "yaml";
import { PipelineError } from "../errors.js";
import { PIPELINE_LIMITS } from "../rules.js";
import { closest } from "./suggest.js";

/** For a `: ` in an unquoted value (`run: echo a: b`), which YAML reads as a mapping inside the value. */
const QUOTE_HINT =
  "a `: ` in an unquoted value starts a mapping: put the whole value in quotes (`run: 'echo a: b'`), or the command on the lines after `run: |`";

/** A YAML node holding a value (aliases already resolved). */
export type ValueNode = Scalar | YAMLMap | YAMLSeq;

export class PipelineSource {
  readonly #lines = new LineCounter();
  readonly #doc: Document;
  /** Expanded size of the collections measured so far; null while one is being measured. */
  readonly #sizes = new Map<Node, number | null>();
  #aliasNodes = 0;
  /** Each alias's anchored node (undefined: no anchor of that name before it), found in one pass. */
  readonly #targets = new Map<Alias, Node | undefined>();

  constructor(
    readonly file: string,
    text: string,
  ) {
    // prettyErrors off: we place errors ourselves and want yaml's one-line message, not its code frame.
    this.#doc = parseDocument(text, { lineCounter: this.#lines, prettyErrors: false });
    const error = this.#doc.errors[0];
    if (error) {
      const { line, col } = this.#lines.linePos(error.pos[0]);
      const at = { file, line, column: col };
      if (error.code === "MULTIPLE_DOCS")
        throw new PipelineError(at, "a second YAML document starts here", "a pipeline file holds one document: remove the `---` separator");
      if (error.code === "BLOCK_AS_IMPLICIT_KEY" || error.code === "BLOCK_IN_FLOW")
        throw new PipelineError(at, `invalid YAML: ${error.message}`, QUOTE_HINT);
      throw new PipelineError(at, `invalid YAML: ${error.message}`, "fix the syntax there");
    }
    // What yaml's Alias.resolve(doc) answers (the last node with that anchor before the alias, in document
    // order), computed once: resolve(doc) walks the whole document on every call, which made a file of
    // many aliases quadratic.
    const anchors = new Map<string, Node>();
    visit(this.#doc, {
      Node: (_key, node) => {
        if (isAlias(node)) this.#targets.set(node, anchors.get(node.source));
        else if (node.anchor) anchors.set(node.anchor, node);
      },
    });
  }

  /** The top-level node; null for a file with nothing but comments and blank lines. */
  root(): ValueNode | null {
    const contents = this.#doc.contents;
    return contents === null || (isScalar(contents) && contents.value === null) ? null : this.resolve(contents, undefined);
  }

  /** Follows an alias to the node it names. */
  resolve(node: Node | null | undefined, field: string | undefined): ValueNode {
    if (isAlias(node)) {
      const target = this.#targets.get(node) as ValueNode | undefined;
      if (!target) this.fail(node, field, `alias *${node.source} names no anchor`, "define `&" + node.source + "` before using it");
      this.#aliasNodes += this.#expandedSize(target, node, field);
      if (this.#aliasNodes > PIPELINE_LIMITS.aliasNodes) {
        this.fail(
          node,
          field,
          `aliases expand to more than ${PIPELINE_LIMITS.aliasNodes} YAML nodes by this one`,
          "use fewer or smaller aliases (a pipeline this large is likely a mistake or an attack)",
        );
      }
      return target as ValueNode;
    }
    if (isScalar(node) || isMap(node) || isSeq(node)) return node;
    // A pair without a value (`? key` alone) reads as an empty scalar.
    return new Scalar(null);
  }

  /**
   * How many nodes `root` stands for with every alias in it expanded, memoised per node so that measuring
   * is linear in the document. Iterative: a chain of anchors each naming the one before can be as long as
   * the file allows. An alias inside the node it names is refused at `alias`.
   */
  #expandedSize(root: Node, alias: Node, field: string | undefined): number {
    const deref = (node: unknown): unknown => (isAlias(node) ? this.#targets.get(node) : node);
    const known = (node: unknown): number | undefined => {
      if (!isMap(node) && !isSeq(node)) return 1;
      const size = this.#sizes.get(node);
      if (size === null)
        this.fail(
          alias,
          field,
          `alias ${(alias as { source?: string }).source ? `*${(alias as { source: string }).source} ` : ""}expands into itself`,
          "an alias may only name a node that does not contain it",
        );
      return size;
    };
    const first = deref(root);
    const done = known(first);
    if (done !== undefined) return done;
    const stack: { node: Node; children: unknown[]; next: number; size: number }[] = [];
    const open = (node: YAMLMap | YAMLSeq) => {
      this.#sizes.set(node, null);
      const children = (node.items as unknown[]).flatMap((item) => (isPair(item) ? [item.key, item.value] : [item]));
      stack.push({ node, children, next: 0, size: 1 });
    };
    open(first as YAMLMap | YAMLSeq);
    for (;;) {
      const top = stack[stack.length - 1]!;
      if (top.next < top.children.length) {
        const child = deref(top.children[top.next++]);
        const size = known(child);
        if (size === undefined) open(child as YAMLMap | YAMLSeq);
        else top.size = Math.min(top.size + size, Number.MAX_SAFE_INTEGER);
        continue;
      }
      this.#sizes.set(top.node, top.size);
      stack.pop();
      if (stack.length === 0) return top.size;
      const parent = stack[stack.length - 1]!;
      parent.size = Math.min(parent.size + top.size, Number.MAX_SAFE_INTEGER);
    }
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
    return this.fail(
      key ?? (pair.value as Node),
      prefix.replace(/\.$/, "") || undefined,
      "a key here is empty or not a plain name",
      "keys are names such as `jobs` or `build`",
    );
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
