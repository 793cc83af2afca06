// A run as plain lines, for logs and pipes: one line per thing that happened to it (the run, a job or a
// step started or ended), stamped with the time the store recorded for it and in the order it happened.
// Watching a run already under way replays what it has done so far, with the times it was done at.
import type { CiJob, CiRun } from "../gen/quire/v1/ci.js";
import { TERMINAL_RUN_STATES } from "../client/ci.js";
import { println, visible } from "./output.js";
import { attemptNote, cachedText, ended, exitText, type RunView } from "./run-view.js";

/** Something that happened to a run; `key` names it once, whatever update shows it again. */
interface RunEvent {
  key: string;
  at: number;
  text: string;
}

const JOB_ENDS = new Set(["complete", "failed", "cancelled", "skipped"]);

export function lineView(print: (line: string) => void = println): RunView {
  const printed = new Set<string>();
  let stopped = false;
  return {
    update(run) {
      if (stopped) return;
      // A stable sort by time: what happened in the same millisecond keeps the order of its causes
      // (a job starts before its steps, a step ends before its job).
      const fresh = runEvents(run).filter((event) => !printed.has(event.key));
      fresh.sort((a, b) => a.at - b.at);
      for (const event of fresh) {
        printed.add(event.key);
        print(`${new Date(event.at).toISOString().slice(11, 19)} ${event.text}`);
      }
    },
    done() {
      stopped = true;
    },
  };
}

/** What has happened to `run` so far, in causal order: the run's start, each job's own, then the run's end. */
export function runEvents(run: CiRun): RunEvent[] {
  const events: RunEvent[] = [];
  const created = Number(run.createdUnixMs);
  if (run.state === "pending") events.push({ key: "run:pending", at: created, text: `run ${run.id} pending` });
  if (run.startedUnixMs) events.push({ key: "run:active", at: Number(run.startedUnixMs), text: `run ${run.id} active` });
  for (const job of run.jobs) events.push(...jobEvents(job, created));
  if (TERMINAL_RUN_STATES.has(run.state))
    events.push({ key: "run:end", at: Number(run.finishedUnixMs) || created, text: `run ${run.id} ${run.state}` });
  return events;
}

function jobEvents(job: CiJob, fallback: number): RunEvent[] {
  const events: RunEvent[] = [];
  const name = visible(job.name);
  // A cached job ran nothing: one line, when it was given the proving run's result.
  if (job.state === "cached")
    return [{ key: `job:${job.name}:end`, at: Number(job.finishedUnixMs) || fallback, text: `${name} cached${cachedText(job)}` }];
  const started = Number(job.startedUnixMs);
  if (started) events.push({ key: `job:${job.name}:1`, at: started, text: `${name} active` });
  job.steps.forEach((step, index) => {
    if (step.attempt > 1 && job.steps[index - 1]?.attempt !== step.attempt) events.push(attemptEvent(job, step.attempt, started));
    const key = `step:${job.name}:${index}`;
    const what = `${name} / ${visible(step.name)}`;
    if (step.startedUnixMs) events.push({ key: `${key}:start`, at: Number(step.startedUnixMs), text: `${what} active` });
    if (step.state !== "pending" && step.state !== "active") {
      events.push({
        key: `${key}:end`,
        at: Number(step.finishedUnixMs || step.startedUnixMs) || fallback,
        text: `${what} ${step.state}${exitText(step)}${ended(step)}`,
      });
    }
  });
  if (JOB_ENDS.has(job.state))
    events.push({
      key: `job:${job.name}:end`,
      at: Number(job.finishedUnixMs) || started || fallback,
      text: `${name} ${job.state}${attemptNote(job)}${ended(job)}`,
    });
  return events;
}

/** A retry's start. An attempt has no time of its own: it began when its first step did, or once the one before ended. */
function attemptEvent(job: CiJob, attempt: number, jobStarted: number): RunEvent {
  const starts = job.steps.filter((s) => s.attempt === attempt && s.startedUnixMs).map((s) => Number(s.startedUnixMs));
  const ends = job.steps.filter((s) => s.attempt === attempt - 1 && s.finishedUnixMs).map((s) => Number(s.finishedUnixMs));
  const at = starts.length ? Math.min(...starts) : ends.length ? Math.max(...ends) : jobStarted;
  return { key: `job:${job.name}:${attempt}`, at, text: `${visible(job.name)} active${attemptNote({ ...job, attempt })}` };
}
