// The list: runs newest first, filtered by repository, ref and state (kept in the URL), updated as the
// server's event stream says runs change.
import { listen } from "./api.js";
import { h, replace } from "./dom.js";
import { ago, elapsed, LIVE_STATES, repoName, shortCommit } from "./format.js";
import type { RunSummary } from "./types.js";

const FILTERS = ["repo", "ref", "state"] as const;
type Filter = (typeof FILTERS)[number];
const RUN_STATES = ["pending", "active", "complete", "failed", "cancelled", "superseded"];

export function showList(main: HTMLElement, go: (path: string) => void): () => void {
  const runs = new Map<number, RunSummary>();
  const query = new URLSearchParams(location.search);
  const chosen: Record<Filter, string> = { repo: query.get("repo") ?? "", ref: query.get("ref") ?? "", state: query.get("state") ?? "" };
  const selects = Object.fromEntries(FILTERS.map((f) => [f, h("select", { name: f, "aria-label": f })])) as Record<
    Filter,
    HTMLSelectElement
  >;
  const body = h("tbody");
  const empty = h("p", { class: "muted" }, "Loading runs…");
  replace(
    main,
    h("h1", {}, "Runs"),
    h("div", { class: "filters" }, ...FILTERS.map((f) => h("label", {}, `${f} `, selects[f]))),
    h(
      "table",
      { class: "runs" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ...["Run", "State", "Pipeline", "Repository", "Ref", "Commit", "Duration", "Started", "Why it failed"].map((t) => h("th", {}, t)),
        ),
      ),
      body,
    ),
    empty,
  );
  for (const f of FILTERS)
    selects[f].addEventListener("change", () => {
      chosen[f] = selects[f].value;
      const q = new URLSearchParams();
      for (const g of FILTERS) if (chosen[g]) q.set(g, chosen[g]);
      history.replaceState(null, "", q.size ? `/?${q}` : "/");
      render();
    });

  let scheduled = false;
  const render = () => {
    scheduled = false;
    const all = [...runs.values()].sort((a, b) => b.id - a.id);
    for (const f of FILTERS)
      fillSelect(selects[f], f, f === "state" ? [...RUN_STATES] : [...new Set(all.map((r) => r[f]))].sort(), chosen[f]);
    const shown = all.filter((r) => FILTERS.every((f) => !chosen[f] || r[f] === chosen[f]));
    replace(body, ...shown.map((run) => row(run, go)));
    empty.textContent = shown.length ? "" : all.length ? "No run matches these filters." : "No runs yet: quirectl run starts one.";
    main.dataset.runs = String(shown.length);
  };
  const later = () => {
    if (!scheduled) requestAnimationFrame(render);
    scheduled = true;
  };
  const source = listen("/api/runs/events", {
    runs: (data) => {
      runs.clear();
      for (const run of data as RunSummary[]) runs.set(run.id, run);
      later();
    },
    run: (data) => {
      const run = data as RunSummary;
      runs.set(run.id, run);
      later();
    },
    gone: (data) => {
      runs.delete((data as { id: number }).id);
      later();
    },
  });
  // Durations of live runs go on while nothing changes.
  const ticker = setInterval(() => [...runs.values()].some((r) => LIVE_STATES.has(r.state)) && later(), 1000);
  return () => {
    source.close();
    clearInterval(ticker);
  };
}

function fillSelect(select: HTMLSelectElement, filter: Filter, values: string[], chosen: string): void {
  if (chosen && !values.includes(chosen)) values.push(chosen);
  const label = (v: string) => (filter === "repo" ? repoName(v) : v);
  replace(
    select,
    h("option", { value: "" }, `any ${filter}`),
    ...values.map((v) => h("option", { value: v, selected: v === chosen, title: v }, label(v))),
  );
  select.value = chosen;
}

function row(run: RunSummary, go: (path: string) => void): HTMLTableRowElement {
  const link = h("a", { href: `/runs/${run.id}` }, `#${run.id}`);
  link.addEventListener("click", (event) => {
    if ((event as MouseEvent).button !== 0 || (event as MouseEvent).ctrlKey || (event as MouseEvent).metaKey) return;
    event.preventDefault();
    go(`/runs/${run.id}`);
  });
  return h(
    "tr",
    { "data-run": run.id, "data-state": run.state },
    h("td", {}, link),
    h("td", { class: `state state-${run.state}` }, run.state),
    h("td", {}, run.pipeline),
    h("td", { title: run.repo }, repoName(run.repo)),
    h("td", { class: "mono" }, run.ref),
    h("td", { class: "mono", title: run.commit ?? "" }, shortCommit(run), run.dirty ? h("span", { class: "muted" }, " + changes") : null),
    h("td", {}, elapsed(run)),
    h("td", { class: "muted", title: run.createdAt ? new Date(run.createdAt).toISOString() : "" }, ago(run.startedAt ?? run.createdAt)),
    h("td", { class: "summary-text" }, run.failureSummary ?? ""),
  );
}
