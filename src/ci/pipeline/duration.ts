// Durations as pipeline files write them: `500ms`, `90s`, `5m`, `1h30m`, `1.5h`, or a bare number of seconds.

const UNIT_MS = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
const ORDER = ["h", "m", "s", "ms"] as const;
const BARE_SECONDS = /^\d+(?:\.\d+)?$/;
// `ms` before `m` so `500ms` is not read as 500 minutes followed by junk.
const COMPONENT = /(\d+(?:\.\d+)?)(ms|h|m|s)/y;

/** The longest timeout Node's timers honour (2^31 - 1 ms, about 24.8 days); longer ones would fire at once. */
export const MAX_DURATION_MS = 2 ** 31 - 1;

/** What parseDuration accepts, for messages. */
export const DURATION_FORMS = "a duration such as `500ms`, `90s`, `5m`, `1h30m`, or a bare number of seconds";

/**
 * Milliseconds (rounded to whole ms) for a duration string, or undefined when it is not one. Units come
 * largest first, each at most once (`1h30m`, not `30m1h`). Zero is returned as 0; callers decide whether
 * it is allowed.
 */
export function parseDuration(text: string): number | undefined {
  if (BARE_SECONDS.test(text)) return Math.round(Number(text) * 1_000);
  if (text === "") return undefined;
  let total = 0;
  let next = 0; // index in ORDER of the smallest unit still allowed
  COMPONENT.lastIndex = 0;
  while (COMPONENT.lastIndex < text.length) {
    const match = COMPONENT.exec(text);
    if (!match) return undefined;
    const unit = match[2] as keyof typeof UNIT_MS;
    const rank = ORDER.indexOf(unit);
    if (rank < next) return undefined;
    next = rank + 1;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  return Math.round(total);
}
