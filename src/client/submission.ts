// A submit that is recorded once or says it was not. Every attempt carries the same idempotency key and
// deadline: the ci service answers a key it recorded a run for with that run, and records nothing at or
// after the deadline (QUIRE_ERR_CI_NOT_RECORDED). So a submit whose connection is lost on the way (a handoff
// that did not complete under load, a backend that died) is sent again on a new connection, and whatever
// answer comes is the truth; only when no answer can be had at all is the outcome unknown.
import { CiRequest, CiResponse, type CiSubmit } from "../gen/quire/v1/ci.js";
import { Lane } from "../wire/lanes.js";
import type { Connection } from "./connection.js";
import { ConnectionClosedError, SubmitUnconfirmedError, TimeoutError } from "./errors.js";

/** How long the service has to record a run unless told otherwise: a snapshot of a large tree on a busy machine fits. */
export const SUBMIT_TIMEOUT_MS = 300_000;
/** Past the deadline, how long the answer may take: the service sends it once the recording has given up. */
const ANSWER_GRACE_MS = 10_000;
/** Between a lost connection and the next attempt, so a service closing every connection is not hammered. */
const RETRY_PAUSE_MS = 50;

/** Where the attempts go. */
export interface SubmitLink {
  /** The connection in use, or a new one once it has closed; rejects when none can be had in `timeoutMs`. */
  open(timeoutMs: number): Promise<Connection>;
  /** Whether the client's owner closed it: then nothing is sent again. */
  closed(): boolean;
}

/** Sends `submit` until the service answers it (ok or not), within `deadline` (ms since the epoch). */
export async function submitUntilAnswered(link: SubmitLink, submit: CiSubmit, deadline: number): Promise<CiResponse> {
  const payload = Buffer.from(CiRequest.encode(CiRequest.fromPartial({ submit })).finish());
  const giveUpAt = deadline + ANSWER_GRACE_MS;
  // Set once an attempt went out and got no answer: from then on the run may have been recorded.
  let unanswered = false;
  for (;;) {
    let connection: Connection;
    try {
      connection = await link.open(giveUpAt - Date.now());
    } catch (error) {
      // Nothing went out yet: the run was not recorded, and the error says why.
      if (!unanswered) throw error;
      // A connect that ran out of its own time while the submit's remains is tried again.
      if (error instanceof TimeoutError && Date.now() < giveUpAt) continue;
      throw new SubmitUnconfirmedError(submit.idempotencyKey, error);
    }
    try {
      const answer = await connection.request(Lane.CI, payload, {
        deadlineUnixMs: deadline,
        timeoutMs: Math.max(1, giveUpAt - Date.now()),
      });
      return CiResponse.decode(answer);
    } catch (error) {
      unanswered = true;
      if (!(error instanceof ConnectionClosedError) || link.closed() || Date.now() >= giveUpAt)
        throw new SubmitUnconfirmedError(submit.idempotencyKey, error);
      await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
    }
  }
}
