// Error codes are a contract: once published, a code keeps its meaning and is never renamed, removed or
// reused. Every `QUIRE_ERR_*` string the sources define is collected here and compared with the list
// below, so renaming or dropping one fails the suite. A new code is added to the list on purpose.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { repoRoot } from "./helpers/paths.js";

const PUBLISHED = [
  "QUIRE_ERR_BACKEND_UNAVAILABLE",
  "QUIRE_ERR_CI",
  "QUIRE_ERR_CI_BAD_REQUEST",
  "QUIRE_ERR_CI_INTERNAL",
  "QUIRE_ERR_CI_SHUTTING_DOWN",
  "QUIRE_ERR_COMMAND_NOT_FOUND",
  "QUIRE_ERR_CONNECTION_CLOSED",
  "QUIRE_ERR_DAEMON_RUNNING",
  "QUIRE_ERR_DAEMON_START",
  "QUIRE_ERR_DAEMON_UNREACHABLE",
  "QUIRE_ERR_ENVELOPE_VERSION",
  "QUIRE_ERR_EXPECT_ENDED",
  "QUIRE_ERR_EXPECT_TIMEOUT",
  "QUIRE_ERR_FRAME_KIND",
  "QUIRE_ERR_FRAME_MALFORMED",
  "QUIRE_ERR_FRAME_TOO_LARGE",
  "QUIRE_ERR_FRAME_TRUNCATED",
  "QUIRE_ERR_FRAMING_VERSION",
  "QUIRE_ERR_HANDSHAKE",
  "QUIRE_ERR_INVALID_OPTION",
  "QUIRE_ERR_LOG_CLOSED",
  "QUIRE_ERR_LOG_FILE",
  "QUIRE_ERR_LOGIN_COMMAND",
  "QUIRE_ERR_LOGIN_UNSUPPORTED",
  "QUIRE_ERR_LOGIN_VALUE",
  "QUIRE_ERR_PAYLOAD_ENCODING",
  "QUIRE_ERR_PAYLOAD_MALFORMED",
  "QUIRE_ERR_PIPELINE_CYCLE",
  "QUIRE_ERR_PIPELINE_INVALID",
  "QUIRE_ERR_PROCESS_ENDED",
  "QUIRE_ERR_PTY",
  "QUIRE_ERR_PTY_EXITED",
  "QUIRE_ERR_PTY_INVALID_NAME",
  "QUIRE_ERR_PTY_NAME_TAKEN",
  "QUIRE_ERR_PTY_NOT_WRITER",
  "QUIRE_ERR_PTY_NO_COMMAND",
  "QUIRE_ERR_PTY_NO_SESSION",
  "QUIRE_ERR_PTY_UNKNOWN_OP",
  "QUIRE_ERR_REFUSED",
  "QUIRE_ERR_RUNNING_AS_ROOT",
  "QUIRE_ERR_RUN_NOT_FOUND",
  "QUIRE_ERR_RUN_TOKEN",
  "QUIRE_ERR_SECRET_DECRYPT",
  "QUIRE_ERR_SECRET_KEY",
  "QUIRE_ERR_SECRET_MISSING",
  "QUIRE_ERR_SECRET_NAME",
  "QUIRE_ERR_SECRET_VALUE",
  "QUIRE_ERR_SERVICE_UNKNOWN",
  "QUIRE_ERR_SOCKET_ACTIVATION",
  "QUIRE_ERR_SOCKET_DIR_INSECURE",
  "QUIRE_ERR_SOCKET_PATH_OCCUPIED",
  "QUIRE_ERR_SOCKET_PATH_TOO_LONG",
  "QUIRE_ERR_SPAWN",
  "QUIRE_ERR_STORE_ANNOTATION_INVALID",
  "QUIRE_ERR_STORE_MIGRATION",
  "QUIRE_ERR_STORE_OPEN",
  "QUIRE_ERR_STORE_SECRET_INVALID",
  "QUIRE_ERR_STORE_TOO_NEW",
  "QUIRE_ERR_STORE_UNKNOWN_RUN",
  "QUIRE_ERR_TIMEOUT",
  "QUIRE_ERR_UNKNOWN_LANE",
  "QUIRE_ERR_WORKSPACE",
];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "gen" ? [] : sources(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

/** Every quoted QUIRE_ERR_* string in src/. */
function definedCodes(): string[] {
  const codes = new Set<string>();
  for (const file of sources(join(repoRoot, "src"))) {
    for (const m of readFileSync(file, "utf8").matchAll(/["'`](QUIRE_ERR_[A-Z0-9_]+)["'`]/g)) codes.add(m[1]!);
  }
  return [...codes].sort();
}

test("the error codes the sources define are exactly the published ones", () => {
  const defined = definedCodes();
  const missing = PUBLISHED.filter((code) => !defined.includes(code));
  const added = defined.filter((code) => !PUBLISHED.includes(code));
  assert.deepEqual(missing, [], "published codes no source defines any more: codes are never renamed or removed");
  assert.deepEqual(added, [], "codes not in the published list: add them to PUBLISHED in test/error-codes.test.ts");
});

test("the pty service's codes are one shared table, each code once", async () => {
  const { PtyErrorCode } = await import("../src/wire/error-codes.js");
  const values = Object.values(PtyErrorCode);
  assert.equal(new Set(values).size, values.length);
  for (const code of values) assert.ok(PUBLISHED.includes(code), code);
});
