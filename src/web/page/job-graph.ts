// A run's jobs as a graph: each job in the column after the last of its needs (a layered layout), an
// edge from each need, and the legs of one matrix (GitHub names them `id (a, b)`) boxed together.
import { s } from "./dom.js";
import type { Job } from "./types.js";

const NODE_W = 190;
const NODE_H = 30;
const GAP_X = 60;
const GAP_Y = 12;
const GROUP_PAD = 8;
const GROUP_LABEL = 16;
const MAX_LABEL = 26;

/** The matrix a job is a leg of: the name before ` (`, or none. */
export function matrixOf(name: string): string | undefined {
  const m = /^(.+) \(.+\)$/.exec(name);
  return m?.[1];
}

function layers(jobs: Job[]): Map<string, number> {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const layer = new Map<string, number>();
  const visit = (job: Job, path: Set<string>): number => {
    const known = layer.get(job.name);
    if (known !== undefined) return known;
    if (path.has(job.name)) return 0; // a cycle the reader refused already; drawn flat rather than looping
    path.add(job.name);
    let n = 0;
    for (const need of job.needs) {
      // A need names a job, or every leg of a matrix.
      const legs = byName.has(need) ? [byName.get(need)!] : jobs.filter((j) => matrixOf(j.name) === need);
      for (const leg of legs) n = Math.max(n, visit(leg, path) + 1);
    }
    layer.set(job.name, n);
    return n;
  };
  for (const job of jobs) visit(job, new Set());
  return layer;
}

export function jobGraph(jobs: Job[], selected: string | undefined, onPick: (job: string) => void): SVGSVGElement {
  const layer = layers(jobs);
  const columns: Job[][] = [];
  for (const job of jobs) (columns[layer.get(job.name)!] ??= []).push(job);
  const place = new Map<string, { x: number; y: number }>();
  const groups: { name: string; x: number; y: number; h: number }[] = [];
  let height = 0;
  columns.forEach((column, c) => {
    const x = GROUP_PAD + c * (NODE_W + GAP_X + 2 * GROUP_PAD);
    let y = GROUP_PAD;
    let i = 0;
    while (i < column.length) {
      const matrix = matrixOf(column[i]!.name);
      let j = i + 1;
      while (matrix !== undefined && j < column.length && matrixOf(column[j]!.name) === matrix) j++;
      if (matrix !== undefined) {
        const top = y;
        y += GROUP_LABEL;
        for (const leg of column.slice(i, j)) {
          place.set(leg.name, { x, y });
          y += NODE_H + GAP_Y;
        }
        groups.push({ name: matrix, x: x - GROUP_PAD, y: top - GROUP_PAD / 2, h: y - top });
        y += GROUP_PAD;
      } else {
        place.set(column[i]!.name, { x, y });
        y += NODE_H + GAP_Y;
      }
      i = j;
    }
    height = Math.max(height, y);
  });
  const width = columns.length * (NODE_W + GAP_X + 2 * GROUP_PAD);
  const svg = s("svg", {
    width,
    height: height + GROUP_PAD,
    viewBox: `0 0 ${width} ${height + GROUP_PAD}`,
    role: "img",
    "aria-label": "jobs and their needs",
  });
  for (const g of groups)
    svg.append(
      s(
        "g",
        { class: "group" },
        s("rect", { x: g.x, y: g.y, width: NODE_W + 2 * GROUP_PAD, height: g.h, rx: 8 }),
        s("text", { x: g.x + 6, y: g.y + 12 }, clip(g.name)),
      ),
    );
  const byName = new Map(jobs.map((j) => [j.name, j]));
  for (const job of jobs) {
    const to = place.get(job.name)!;
    for (const need of job.needs) {
      const from = byName.has(need) ? [need] : jobs.filter((j) => matrixOf(j.name) === need).map((j) => j.name);
      for (const name of from) {
        const a = place.get(name);
        if (!a) continue;
        const [x1, y1, x2, y2] = [a.x + NODE_W, a.y + NODE_H / 2, to.x, to.y + NODE_H / 2];
        const mid = (x1 + x2) / 2;
        svg.append(s("path", { class: "edge", d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` }));
      }
    }
  }
  for (const job of jobs) {
    const { x, y } = place.get(job.name)!;
    const node = s(
      "g",
      { class: `node${job.name === selected ? " selected" : ""}`, "data-job": job.name, transform: `translate(${x},${y})`, tabindex: 0 },
      s("title", {}, `${job.name}: ${job.state}`),
      s("rect", { width: NODE_W, height: NODE_H, rx: 6 }),
      s("circle", { cx: 14, cy: NODE_H / 2, r: 5, class: `dot state-${job.state}`, fill: "currentColor" }),
      s("text", { x: 26, y: NODE_H / 2 + 4 }, clip(matrixOf(job.name) ? job.name.slice(matrixOf(job.name)!.length + 1) : job.name)),
    );
    node.addEventListener("click", () => onPick(job.name));
    node.addEventListener("keydown", (e) => (e as KeyboardEvent).key === "Enter" && onPick(job.name));
    svg.append(node);
  }
  return svg;
}

function clip(text: string): string {
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}
