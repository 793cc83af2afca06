// A small, strict reader of the Prometheus text exposition format (0.0.4), for tests of METRICS: every
// line must be a HELP, a TYPE or a sample of the family last typed; labels are quoted and escaped; no
// series twice; a histogram's buckets ascend, never decrease, end at +Inf and agree with _count, and
// it has a _sum.
import assert from "node:assert/strict";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parsePrometheus(text: string): Map<string, Family> {
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  const families = new Map<string, Family>();
  const helped = new Set<string>();
  const series = new Set<string>();
  let current: Family | undefined;
  const lines = text.slice(0, -1).split("\n");
  lines.forEach((line, i) => {
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      assert.ok(m, `${where}: a comment that is neither HELP nor TYPE`);
      const [, kind, name, rest] = m;
      assert.match(name!, NAME, where);
      if (kind === "HELP") {
        assert.ok(!helped.has(name!), `${where}: a second HELP for ${name}`);
        helped.add(name!);
        if (!families.has(name!)) families.set(name!, { name: name!, type: "untyped", help: rest!, samples: [] });
        else families.get(name!)!.help = rest!;
        current = families.get(name!);
      } else {
        assert.ok(["counter", "gauge", "histogram", "summary", "untyped"].includes(rest!), `${where}: unknown type`);
        const f = families.get(name!) ?? { name: name!, type: "untyped" as const, help: "", samples: [] };
        assert.equal(f.samples.length, 0, `${where}: TYPE after samples`);
        assert.ok(!(f as { typed?: boolean }).typed, `${where}: a second TYPE for ${name}`);
        (f as { typed?: boolean }).typed = true;
        f.type = rest as Family["type"];
        families.set(name!, f);
        current = f;
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(m, `${where}: not a sample line`);
    const [, name, labelText, valueText] = m;
    assert.ok(current, `${where}: a sample before any TYPE`);
    const allowed =
      current.type === "histogram" ? [`${current.name}_bucket`, `${current.name}_sum`, `${current.name}_count`] : [current.name];
    assert.ok(allowed.includes(name!), `${where}: sample ${name} outside its family (current: ${current.name})`);
    const labels = parseLabels(labelText ?? "", where);
    assert.ok(/^([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]Inf|NaN)$/.test(valueText!), `${where}: bad value`);
    const value = valueText === "+Inf" ? Infinity : valueText === "-Inf" ? -Infinity : Number(valueText);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    assert.ok(!series.has(key), `${where}: duplicate series`);
    series.add(key);
    if (current.type === "counter") assert.ok(value >= 0, `${where}: a negative counter`);
    current.samples.push({ name: name!, labels, value });
  });
  for (const f of families.values()) if (f.type === "histogram") checkHistogram(f);
  return families;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (text === "") return labels;
  let rest = text.slice(1, -1);
  while (rest.length > 0) {
    const m = /^([^=]+)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/.exec(rest);
    assert.ok(m, `${where}: malformed labels at ${JSON.stringify(rest)}`);
    assert.match(m[1]!, LABEL_NAME, where);
    assert.ok(!(m[1]! in labels), `${where}: label ${m[1]} twice`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    rest = rest.slice(m[0].length);
    if (m[3] === "," && rest.length === 0) assert.fail(`${where}: a trailing comma`);
  }
  return labels;
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; sum?: number; count?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { buckets: [] }));
    if (s.name.endsWith("_bucket")) {
      assert.ok(le !== undefined, `${f.name}: a bucket without le`);
      g.buckets.push([le === "+Inf" ? Infinity : Number(le), s.value]);
    } else if (s.name.endsWith("_sum")) g.sum = s.value;
    else g.count = s.value;
  }
  for (const [key, g] of groups) {
    const at = `${f.name}${key}`;
    assert.ok(g.buckets.length > 0, `${at}: no buckets`);
    for (let i = 1; i < g.buckets.length; i++) {
      assert.ok(g.buckets[i]![0] > g.buckets[i - 1]![0], `${at}: bucket bounds do not ascend`);
      assert.ok(g.buckets[i]![1] >= g.buckets[i - 1]![1], `${at}: bucket counts decrease`);
    }
    assert.equal(g.buckets.at(-1)![0], Infinity, `${at}: no +Inf bucket`);
    assert.equal(g.count, g.buckets.at(-1)![1], `${at}: _count differs from the +Inf bucket`);
    assert.ok(g.sum !== undefined, `${at}: no _sum`);
  }
}

/** The value of the one sample named `name` whose labels include `labels` (undefined: none). */
export function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
