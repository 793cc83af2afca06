// quirectl's CI commands: runs, runs show, watch, cancel, secret and annotate, and following a run until
// it ends (run --wait, watch, rerun --wait); run itself is run.ts, logs is logs.ts.
import { CiClient, TERMINAL_RUN_STATES, type CiRun } from "../client/ci.js";
import { MAX_SECRET_BYTES } from "../ci/rules.js";
import { annotationText, secretName, secretValue } from "./args.js";
import { NotInStepError, PromptCancelledError, SecretOnCommandLineError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import { formatDuration, isoOrNull, printJson, println, table, visible, visibleLines } from "./output.js";
import { runJson, currentSteps } from "./run-json.js";
import { annotationLine, attemptNote, printReport, timeoutText, type RunView } from "./run-view.js";
import { lineView } from "./run-lines.js";
import { onInterrupt } from "./interrupt.js";
import { daemonArgs, type GlobalArgs } from "./global-args.js";
import { ringBell } from "./bell.js";
import type { Settings } from "../ci/settings/schema.js";

/** Runs `use` with a connection to the ci service (started on demand, as any command does), then closes it. */
export async function withCi<T>(args: GlobalArgs, use: (ci: CiClient) => Promise<T>): Promise<T> {
  const ci = await CiClient.connect({ home: args.home, daemonArgs: daemonArgs(args) });
  try {
    return await use(ci);
  } finally {
    ci.close();
  }
}

export async function watchRun(args: GlobalArgs & { id: number }): Promise<number> {
  return withCi(args, async (ci) => {
    return await follow(ci, BigInt(args.id), args.json);
  });
}

/**
 * Shows the run until it ends (ringing the bell for `run --wait`); the exit code says how it ended.
 * `interruptible`: Ctrl-C says the run goes on and how to follow or cancel it, a second one cancels it (interrupt.ts).
 */
export async function follow(
  ci: CiClient,
  id: bigint,
  json: boolean,
  options: { interruptible?: boolean; bell?: Settings } = {},
): Promise<number> {
  const view = json ? undefined : process.stdout.isTTY ? await terminalView(ci, id) : lineView();
  const stopInterrupts = options.interruptible ? onInterrupt(id, { stopView: () => view?.done(), cancel: () => ci.cancel(id) }) : undefined;
  let final: CiRun;
  try {
    final = await ci.watch(id, (run) => view?.update(run));
  } finally {
    stopInterrupts?.();
    view?.done();
  }
  if (json) printJson(runJson(final));
  else await printReport(final);
  if (options.bell && !json) ringBell(final, options.bell);
  return final.state === "complete" ? ExitCode.Ok : ExitCode.Failed;
}

/** The live view with each running step's last line (loaded only for a terminal: log-update, the terminal emulator). */
async function terminalView(ci: CiClient, id: bigint): Promise<RunView> {
  const [{ liveView }, { StepTails }] = await Promise.all([import("./live-view.js"), import("./step-tails.js")]);
  return liveView(process.stdout, new StepTails((job, onChunk) => ci.logs(id, { job, follow: true }, onChunk)));
}

export async function listRuns(args: GlobalArgs & { limit: number }): Promise<number> {
  return withCi(args, async (ci) => {
    const runs = await ci.list(args.limit);
    if (args.json) {
      printJson(runs.map(runJson));
      return ExitCode.Ok;
    }
    if (runs.length === 0) {
      println("no runs yet: quirectl run [FILE]");
      return ExitCode.Ok;
    }
    println(
      table([
        ["ID", "STATE", "PIPELINE", "REF", "CREATED", "TOOK"],
        ...runs.map((r) => [
          String(r.id),
          r.state === "failed" ? `failed (${r.failureKind})` : r.state,
          visible(r.pipeline),
          visible(r.ref || "-") + (r.dirty ? "*" : ""),
          isoOrNull(r.createdUnixMs)!.replace("T", " ").slice(0, 19),
          r.startedUnixMs ? formatDuration(Number((r.finishedUnixMs || BigInt(Date.now())) - r.startedUnixMs)) : "-",
        ]),
      ]),
    );
    return ExitCode.Ok;
  });
}

export async function showRun(args: GlobalArgs & { id: number }): Promise<number> {
  return withCi(args, async (ci) => {
    const run = await ci.get(args.id);
    if (args.json) {
      printJson(runJson(run));
      return ExitCode.Ok;
    }
    println(`run ${run.id}  ${visible(run.pipeline)}  ${run.state}${run.failureKind ? ` (${run.failureKind})` : ""}`);
    println(
      `repo ${visible(run.repo)}  ref ${visible(run.ref || "-")}  commit ${run.commit || "-"}${run.dirty ? "  (with uncommitted changes)" : ""}`,
    );
    if (run.supersededBy) println(`superseded by run ${run.supersededBy}`);
    if (run.rerunOf) println(`a rerun of run ${run.rerunOf}`);
    for (const job of run.jobs) {
      println(
        `  ${visible(job.name)}: ${job.state}${job.cachedFrom ? ` from run ${job.cachedFrom}` : ""}${attemptNote(job)}${job.hasExitCode ? ` exit ${job.exitCode}` : ""}`,
      );
      for (const step of currentSteps(job)) {
        const timeout = timeoutText(run, job, step);
        println(
          `    ${visible(step.name)}: ${step.state}${timeout ? `, ${visible(timeout)}` : step.hasExitCode ? ` exit ${step.exitCode}` : ""}`,
        );
      }
    }
    if (run.failureSummary) {
      println();
      println(visibleLines(run.failureSummary));
    }
    for (const a of run.annotations) println(annotationLine(a));
    for (const job of run.jobs) {
      for (const step of currentSteps(job)) {
        if (!step.summary) continue;
        println();
        println(`summary of ${visible(job.name)} / ${visible(step.name)}:`);
        println(visibleLines(step.summary.trimEnd()));
      }
    }
    return ExitCode.Ok;
  });
}

export async function cancelRun(args: GlobalArgs & { id: number }): Promise<number> {
  return withCi(args, async (ci) => {
    const run = await ci.cancel(args.id);
    if (args.json) printJson(runJson(run));
    else
      println(
        TERMINAL_RUN_STATES.has(run.state) && run.state !== "cancelled"
          ? `run ${run.id} had already ended: ${run.state}`
          : `run ${run.id} ${run.state}`,
      );
    return ExitCode.Ok;
  });
}

export async function setSecret(args: GlobalArgs & { name: string; extra: string[] }): Promise<number> {
  secretName(args.name);
  if (args.extra.length > 0) throw new SecretOnCommandLineError(args.name);
  const value = secretValue(args.name, await readSecretValue(args.name));
  return withCi(args, async (ci) => {
    await ci.setSecret(args.name, value);
    if (!args.json) println(`secret ${args.name} set`);
    else printJson({ name: args.name, set: true });
    return ExitCode.Ok;
  });
}

export async function listSecrets(args: GlobalArgs): Promise<number> {
  return withCi(args, async (ci) => {
    const names = await ci.secretNames();
    if (args.json) printJson(names);
    else println(names.length ? names.map(visible).join("\n") : "no secrets: quirectl secret set NAME < value-file");
    return ExitCode.Ok;
  });
}

export async function removeSecret(args: GlobalArgs & { name: string }): Promise<number> {
  secretName(args.name);
  return withCi(args, async (ci) => {
    await ci.removeSecret(args.name);
    if (!args.json) println(`secret ${args.name} removed`);
    else printJson({ name: args.name, removed: true });
    return ExitCode.Ok;
  });
}

/** From inside a step: the step's token says which run, job and step. */
export async function annotate(args: GlobalArgs & { text: string }): Promise<number> {
  annotationText(args.text);
  const token = process.env.QUIRE_RUN_TOKEN;
  if (!token) throw new NotInStepError();
  return withCi(args, async (ci) => {
    await ci.annotate(Buffer.from(token), args.text);
    return ExitCode.Ok;
  });
}

/** The value comes from stdin, never from argv (where `ps` and shell history would show it). */
async function readSecretValue(name: string): Promise<string> {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    process.stderr.write(`value for ${name} (not echoed), then Enter: `);
    stdin.setRawMode(true);
    const chunks: string[] = [];
    try {
      for await (const chunk of stdin) {
        const text = String(chunk);
        if (text === "\u0003") throw new PromptCancelledError();
        const end = text.search(/[\r\n]/);
        chunks.push(end >= 0 ? text.slice(0, end) : text);
        if (end >= 0) break;
      }
    } finally {
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    }
    return chunks.join("");
  }
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stdin) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    // Enough to know it is too long (a trailing newline aside) without reading an endless stream.
    if (length > MAX_SECRET_BYTES + 2) break;
  }
  // One trailing newline is how `echo` and files end; it is not part of the value.
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}
