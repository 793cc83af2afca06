// NODE_DEBUG=quire-handoff: a line per hop of each handoff, `<correlation id> <hop> <process.hrtime in ns>`,
// from the broker (on its stderr) and its backends (in quired.log). The clock is the same in every process.
import { debuglog } from "node:util";

const handoffDebug = debuglog("quire-handoff");
/** Marks are written in batches this often, so that marking costs no write on the path it times. */
const FLUSH_MS = 200;

export const marking = handoffDebug.enabled;
const pending: string[] = [];
let flushTimer: NodeJS.Timeout | undefined;

function flush(): void {
  flushTimer = undefined;
  for (const line of pending.splice(0)) handoffDebug("%s", line);
}

/** Records a hop of handoff `id`; call only when `marking`. */
export function handoffMark(id: number | bigint | string, hop: string, at = process.hrtime.bigint()): void {
  pending.push(`${String(id)} ${hop} ${String(at)}`);
  flushTimer ??= setTimeout(flush, FLUSH_MS).unref();
}

// The last marks before an exit are written too (stderr is a pipe or a file: written at once).
if (marking) process.once("exit", flush);
