// A frame on the ci lane, to the operation it asks for: a CANCEL ends a stream, a CiRequest is decoded
// and served, and whatever fails is answered as an error response.
import type { GarbageCollector } from "../../../ci/gc/collector.js";
import { CiRequest, type CiResponse } from "../../../gen/quire/v1/ci.js";
import { Frame_Kind, type Frame } from "../../../gen/quire/v1/frame.js";
import { CiErrorCode } from "../../../wire/error-codes.js";
import { TRIGGER_NAME } from "../../../ci/rules.js";
import { CiBadRequestError } from "../../errors.js";
import type { ServedConnection } from "../../served-connection.js";
import { sendLogs, type LogParts } from "./logs.js";
import { gcMessage } from "./retention.js";
import { withStepSummaries } from "./run-message.js";
import { watchRun, type WatchParts } from "./watch.js";

export type CiParts = WatchParts & LogParts & { collector: GarbageCollector };

export function serveFrame(parts: CiParts, frame: Frame, client: ServedConnection): void {
  if (frame.kind === Frame_Kind.CANCEL) return parts.streams.cancel(client, frame.requestId);
  let request: CiRequest;
  try {
    request = CiRequest.decode(frame.payload);
  } catch (error) {
    return parts.replies.fail(client, frame, new CiBadRequestError((error as Error).message, error));
  }
  serveRequest(parts, client, frame, request).catch((error) => parts.replies.fail(client, frame, error));
}

async function serveRequest(parts: CiParts, client: ServedConnection, request: Frame, ci: CiRequest): Promise<void> {
  const { runner, replies } = parts;
  const respond = (response: Partial<CiResponse>) => replies.respond(client, request, response);
  if (ci.submit) {
    const { file, text, repo, ref, idempotencyKey, jobs, matrix, trigger, commit, notify, noCache } = ci.submit;
    if (trigger && !TRIGGER_NAME.test(trigger))
      throw new CiBadRequestError(`trigger ${JSON.stringify(trigger)} is not 1 to 32 of a-z, 0-9 and -`);
    // The frame's deadline is the submit's: what the client waits for, and so the last moment to record the run.
    const deadline = request.deadlineUnixMs === 0n ? undefined : Number(request.deadlineUnixMs);
    const view = await runner.submit(file, text, {
      repo,
      ref,
      idempotencyKey: idempotencyKey || undefined,
      deadline,
      selection: { jobs, matrix },
      trigger,
      commit,
      notify,
      noCache,
    });
    return respond({ run: replies.run(view) });
  }
  if (ci.get) return respond({ run: withStepSummaries(replies.run(runner.get(Number(ci.get.id)))) });
  if (ci.list) return respond({ runs: runner.list(ci.list.limit || undefined).map((view) => replies.run(view)) });
  if (ci.watch) return watchRun(parts, client, request, Number(ci.watch.id));
  if (ci.cancel) return respond({ run: replies.run(await runner.cancel(Number(ci.cancel.id))) });
  if (ci.logs) return sendLogs(parts, client, request, ci.logs);
  if (ci.secretSet) {
    runner.setSecret(ci.secretSet.name, ci.secretSet.value);
    return respond({});
  }
  if (ci.secretList) return respond({ secretNames: runner.secretNames() });
  if (ci.secretRemove) {
    runner.removeSecret(ci.secretRemove.name);
    return respond({});
  }
  if (ci.rerun)
    return respond({
      run: replies.run(await runner.rerun(Number(ci.rerun.id), { failedOnly: ci.rerun.failed, noCache: ci.rerun.noCache })),
    });
  if (ci.gc) return respond({ gc: gcMessage(await parts.collector.collect({ dryRun: ci.gc.dryRun })) });
  if (ci.annotate) {
    runner.annotate(Buffer.from(ci.annotate.token).toString("utf8"), ci.annotate.text);
    return respond({});
  }
  respond({ ok: false, error: "empty ci request: set one operation", errorCode: CiErrorCode.BAD_REQUEST });
}
