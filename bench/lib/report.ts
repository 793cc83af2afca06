// Benchmark results: one row per measured figure, with the baseline it is compared against, measured in
// the same run. `--json` prints one object per line: { bench, metric, value, unit, baseline, ratio }.

export interface Row {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  baseline: { name: string; value: number };
}

const json = process.argv.includes("--json");

export function report(row: Row): void {
  const ratio = row.baseline.value === 0 ? null : row.value / row.baseline.value;
  if (json) {
    process.stdout.write(
      JSON.stringify({
        bench: row.bench,
        metric: row.metric,
        value: round(row.value),
        unit: row.unit,
        baseline: round(row.baseline.value),
        ratio: ratio === null ? null : round(ratio, 3),
      }) + "\n",
    );
    return;
  }
  const r = ratio === null ? "-" : `${ratio.toFixed(2)}x`;
  process.stdout.write(
    `  ${row.metric.padEnd(34)} ${fmt(row.value).padStart(12)} ${row.unit.padEnd(9)} vs ${row.baseline.name} ${fmt(row.baseline.value)} ${row.unit}  (${r})\n`,
  );
}

export function heading(title: string): void {
  if (!json) process.stdout.write(`\n${title}\n`);
}

export function note(text: string): void {
  if (!json) process.stdout.write(`  ${text}\n`);
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function fmt(n: number): string {
  return n >= 1000 ? Math.round(n).toLocaleString("en-US") : n.toFixed(n >= 100 ? 0 : 1);
}
