// The one way a test waits for a condition: poll it, bounded, and name what was awaited when it never holds.
import assert from "node:assert/strict";

const POLL_MS = 10;

type Truthy<T> = Exclude<T, false | 0 | 0n | "" | null | undefined>;

/**
 * Calls `probe` (sync or async) until it returns something truthy, and resolves with that value. Fails
 * naming `what` ("the backend to exit") once `timeoutMs` has passed; an error thrown by `probe` ends the
 * wait at once. `what` may be a function, to say in the failure what was seen last.
 */
export async function eventually<T>(probe: () => T | Promise<T>, what: string | (() => string), timeoutMs = 10_000): Promise<Truthy<T>> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Truthy<T>;
    if (performance.now() > deadline)
      assert.fail(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
