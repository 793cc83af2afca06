// A run's page: what it ran on, why it failed, cancel and re-run, its jobs as a graph, each job's steps
// with their state and duration, the selected step's log, the annotations and the steps' summaries.
// Updated from the server's event stream of the run.
import { getJson, listen, post } from "./api.js";
import { h, replace } from "./dom.js";
import { ago, elapsed, LIVE_STATES, repoName, shortCommit } from "./format.js";
import { jobGraph } from "./job-graph.js";
import { emptyLog, LogView } from "./log-view.js";
import type { Job, RunDetail, Step } from "./types.js";

interface Selection {
  job: string;
  step: number;
}

export function showRun(main: HTMLElement, id: number, go: (path: string) => void): () => void {
  let run: RunDetail | undefined;
  let selected: Selection | undefined;
  let chosenByHand = false;
  let log: { view: LogView; key: string } | undefined;
  const head = h("div");
  const graph = h("div", { class: "graph" });
  const steps = h("ul", { class: "steps" });
  const logPanel = h("div");
  const notes = h("div");
  const problem = h("p", { class: "error", role: "alert" });
  replace(main, head, problem, graph, h("div", { class: "layout" }, h("nav", {}, steps), logPanel), notes);
  main.dataset.run = String(id);

  const act = async (what: "cancel" | "rerun") => {
    problem.textContent = "";
    try {
      const result = await post<{ id: number }>(`/api/runs/${id}/${what}`);
      if (what === "rerun") go(`/runs/${result.id}`);
    } catch (error) {
      problem.textContent = `${what} failed: ${(error as Error).message}`;
    }
  };

  const pick = (job: string, step?: number) => {
    const j = run?.jobs.find((x) => x.name === job);
    if (!j) return;
    chosenByHand = true;
    selected = { job, step: step ?? defaultStep(j) };
    render();
  };

  const render = () => {
    if (!run) return;
    const live = LIVE_STATES.has(run.state);
    if (!chosenByHand || !selected) selected = defaultSelection(run) ?? selected;
    const cancel = h("button", { type: "button", "data-action": "cancel", disabled: !live }, "Cancel");
    cancel.addEventListener("click", () => void act("cancel"));
    const rerun = h("button", { type: "button", "data-action": "rerun", disabled: live }, "Re-run");
    rerun.addEventListener("click", () => void act("rerun"));
    replace(
      head,
      h(
        "h1",
        {},
        `Run #${run.id} `,
        h("span", { class: `state state-${run.state}`, "data-run-state": run.state }, run.state),
        " ",
        h("span", { class: "muted" }, run.pipeline),
      ),
      h(
        "div",
        { class: "facts" },
        h("span", { title: run.repo }, repoName(run.repo)),
        h("span", { class: "mono" }, run.ref),
        h("span", { class: "mono", title: run.commit ?? "" }, shortCommit(run), run.dirty ? " + uncommitted changes" : ""),
        run.trigger ? h("span", {}, run.trigger) : null,
        h("span", {}, ago(run.createdAt)),
        h("span", {}, elapsed(run)),
        run.rerunOf ? h("span", {}, `re-run of #${run.rerunOf}`) : null,
      ),
      run.failureSummary ? h("pre", { class: "text summary-text" }, run.failureSummary) : null,
      h("div", { class: "actions" }, cancel, rerun),
    );
    replace(
      graph,
      jobGraph(run.jobs, selected?.job, (job) => pick(job)),
    );
    replace(steps, ...run.jobs.flatMap((job) => stepItems(job, selected, pick)));
    renderLog(run);
    renderNotes(run);
  };

  const renderLog = (run: RunDetail) => {
    const job = run.jobs.find((j) => j.name === selected?.job);
    const step = job?.steps[selected?.step ?? -1];
    if (!job || !step) {
      log?.view.close();
      log = undefined;
      return emptyLog(logPanel, "No step has run yet.");
    }
    const key = `${job.name}\u0000${step.index}`;
    if (log?.key === key) return;
    log?.view.close();
    const view = new LogView({ run: run.id, job: job.name, step: step.index }, `${job.name} › ${step.name}`);
    log = { view, key };
    replace(logPanel, view.element);
    view.open(LIVE_STATES.has(step.state)).catch((error: Error) => emptyLog(logPanel, error.message));
  };

  const renderNotes = (run: RunDetail) => {
    const summaries = run.jobs.flatMap((job) => job.steps.filter((s) => s.summary).map((s) => ({ job: job.name, step: s })));
    replace(
      notes,
      run.annotations.length
        ? h(
            "section",
            {},
            h("h2", {}, "Annotations"),
            h(
              "ul",
              { class: "annotations" },
              ...run.annotations.map((a) =>
                h("li", {}, a.job ? h("span", { class: "muted" }, `${a.job} › ${a.step ?? ""}: `) : null, a.text),
              ),
            ),
          )
        : null,
      summaries.length
        ? h(
            "section",
            {},
            h("h2", {}, "Summaries"),
            // Markdown as its text: what a step wrote is never read as HTML.
            ...summaries.map(({ job, step }) =>
              h("div", {}, h("h3", {}, `${job} › ${step.name}`), h("pre", { class: "text" }, step.summary!)),
            ),
          )
        : null,
    );
  };

  let ended = false;
  const source = listen(`/api/runs/${id}/events`, {
    run: (data) => {
      const next = data as RunDetail;
      // The watch does not carry the steps' summaries: the run's own read does, once it has ended.
      if (run)
        for (const job of next.jobs)
          for (const s of job.steps) s.summary ??= run.jobs.find((j) => j.name === job.name)?.steps[s.index]?.summary ?? null;
      run = next;
      render();
      if (!ended && !LIVE_STATES.has(next.state)) {
        ended = true;
        void getJson<RunDetail>(`/api/runs/${id}`).then((full) => {
          run = full;
          render();
        });
      }
    },
    gone: () =>
      replace(main, h("h1", {}, `Run #${id}`), h("p", { class: "muted" }, "There is no such run (it may have been removed by retention).")),
  });
  const ticker = setInterval(() => run && LIVE_STATES.has(run.state) && render(), 1000);
  return () => {
    source.close();
    clearInterval(ticker);
    log?.view.close();
  };
}

function stepItems(job: Job, selected: Selection | undefined, pick: (job: string, step?: number) => void): HTMLElement[] {
  const title = h(
    "li",
    { class: "job", "data-job": job.name },
    h("span", {}, job.name, job.maxAttempts > 1 ? h("span", { class: "muted" }, ` (attempt ${job.attempt} of ${job.maxAttempts})`) : null),
    h(
      "span",
      { class: `state state-${job.state}` },
      job.state === "cached" && job.cachedFrom ? `cached from #${job.cachedFrom}` : job.state,
    ),
  );
  return [
    title,
    ...job.steps.map((step) => {
      const item = h(
        "li",
        {
          class: selected?.job === job.name && selected.step === step.index ? "selected" : null,
          "data-step": `${job.name}/${step.index}`,
          "data-state": step.state,
          tabindex: 0,
        },
        h("span", {}, step.name, step.attempt > 1 ? h("span", { class: "muted" }, ` #${step.attempt}`) : null),
        h("span", { class: `state state-${step.state}` }, stepState(step)),
      );
      item.addEventListener("click", () => pick(job.name, step.index));
      item.addEventListener("keydown", (e) => (e as KeyboardEvent).key === "Enter" && pick(job.name, step.index));
      return item;
    }),
  ];
}

function stepState(step: Step): string {
  const took = elapsed(step);
  return took ? `${step.state} ${took}` : step.state;
}

/** The step to show first: the one running, else the first that failed, else the last that ran. */
function defaultSelection(run: RunDetail): Selection | undefined {
  const all = run.jobs.flatMap((job) => job.steps.map((step) => ({ job: job.name, step })));
  const found =
    all.find((x) => x.step.state === "active") ??
    all.find((x) => x.step.state === "failed") ??
    all.filter((x) => x.step.startedAt !== null).pop();
  return found && { job: found.job, step: found.step.index };
}

function defaultStep(job: Job): number {
  const failed = job.steps.find((s) => s.state === "failed" || s.state === "active");
  return failed?.index ?? Math.max(0, job.steps.length - 1);
}
