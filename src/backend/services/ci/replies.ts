// How the ci service answers on its lane: a response per request (a failure as an error response with
// its permanent code), events for the requests that stream, and runs as CiRun messages.
import { PipelineError } from "../../../ci/errors.js";
import type { RunView } from "../../../ci/store/index.js";
import { QuireError } from "../../../errors.js";
import { CiEvent, CiResponse, type CiRun } from "../../../gen/quire/v1/ci.js";
import { Frame_Kind, type Frame } from "../../../gen/quire/v1/frame.js";
import { CiErrorCode } from "../../../wire/error-codes.js";
import { newFrame } from "../../../wire/framing.js";
import { Lane } from "../../../wire/lanes.js";
import { asBuffer, type ServedConnection } from "../../served-connection.js";
import { runMessage } from "./run-message.js";

export class CiReplies {
  readonly #logDir: string;

  constructor(logDir: string) {
    this.#logDir = logDir;
  }

  run(view: RunView): CiRun {
    return runMessage(view, this.#logDir);
  }

  respond(client: ServedConnection, request: Frame, response: Partial<CiResponse>): void {
    client.respond(request, CiResponse.encode(CiResponse.fromPartial({ ok: true, ...response })).finish());
  }

  event(client: ServedConnection, request: Frame, event: CiEvent): void {
    client.send(
      newFrame({
        kind: Frame_Kind.EVENT,
        payloadProtocol: Lane.CI,
        requestId: request.requestId,
        // The encoding is fresh: wrapped, not copied (a followed log's 64 KiB pieces were copied twice).
        payload: asBuffer(CiEvent.encode(event).finish()),
      }),
    );
  }

  /** Answers with the error's code (QUIRE_ERR_CI_INTERNAL for one that has none) and, for a pipeline, where it is wrong. */
  fail(client: ServedConnection, request: Frame, error: unknown): void {
    const position =
      error instanceof PipelineError
        ? { file: error.file, line: error.line ?? 0, column: error.column ?? 0, field: error.field ?? "" }
        : undefined;
    const code = error instanceof QuireError ? error.code : CiErrorCode.INTERNAL;
    this.respond(client, request, { ok: false, error: (error as Error).message, errorCode: code, position });
  }
}
