// The base of every error quire raises locally, and the table of every code it may carry. Match on
// `err.code`, never on the message. A code, once published, keeps its meaning and is never reused: one
// that is no longer raised moves to RETIRED_CODES. Wire refusal codes (Refused.Code) are a separate,
// on-the-wire vocabulary. Each layer's errors.ts extends QuireError with a base class and a subclass per
// failure; docs/errors.md shows this table to people, row for row (test/error-codes.test.ts holds the two equal).

/** Where a code is raised, what it means and what to do about it. */
export interface ErrorCodeEntry {
  readonly layer: "wire" | "runtime" | "client" | "broker" | "backend" | "pty service" | "ci service" | "web service" | "ci" | "cli";
  readonly means: string;
  readonly action: string;
}

export const ERROR_CODES = {
  // The wire: byte streams and frames (src/wire).
  QUIRE_ERR_FRAMING_VERSION: {
    layer: "wire",
    means: "A frame starts with a framing version other than 1: the peer does not speak quire's protocol.",
    action: "Check that the peer is a quire client or daemon; the connection is closed.",
  },
  QUIRE_ERR_FRAME_TOO_LARGE: {
    layer: "wire",
    means: "A frame's body is over the limit: 16 MiB, or 64 KiB for the first frame of a connection.",
    action: "Split the payload, or stream it as events.",
  },
  QUIRE_ERR_FRAME_TRUNCATED: {
    layer: "wire",
    means: "The stream ended inside a frame.",
    action: "The peer went away mid-frame; connect again.",
  },
  QUIRE_ERR_FRAME_MALFORMED: {
    layer: "wire",
    means: "A frame's body is not a valid protobuf `Frame`.",
    action: "Check the peer's encoder against `proto/quire/v1/frame.proto`.",
  },
  QUIRE_ERR_ENVELOPE_VERSION: {
    layer: "wire",
    means: "A frame's `envelope_version` is not 1.",
    action: "Send envelope_version 1, the only one spoken.",
  },
  QUIRE_ERR_FRAME_KIND: {
    layer: "wire",
    means: "A frame's kind is not REQUEST, RESPONSE, EVENT or CANCEL.",
    action: "Send one of the four kinds.",
  },
  QUIRE_ERR_UNKNOWN_LANE: {
    layer: "wire",
    means: "A frame's `payload_protocol` is not a lane of the registry.",
    action: "Use a lane of `src/wire/lanes.ts`; a newer peer may speak a lane this one does not.",
  },
  QUIRE_ERR_PAYLOAD_ENCODING: {
    layer: "wire",
    means: "A frame's `payload_encoding` is not NONE.",
    action: "Send payloads uncompressed.",
  },
  QUIRE_ERR_PAYLOAD_MALFORMED: {
    layer: "wire",
    means: "A payload does not decode as the message its lane carries.",
    action: "Check the peer's encoder against the lane's `.proto`.",
  },
  QUIRE_ERR_LANE_DUPLICATE: {
    layer: "wire",
    means: "The lane registry gives one id to two lanes (found when the module loads).",
    action: "Give each lane its own id in `src/wire/lanes.ts`.",
  },

  // The runtime: running commands (src/runtime).
  QUIRE_ERR_INVALID_OPTION: {
    layer: "runtime",
    means: "An option of `spawn` or `run` has a value it cannot take; the message names it and what it expects.",
    action: "Pass a value of the kind the message says.",
  },
  QUIRE_ERR_COMMAND_NOT_FOUND: {
    layer: "runtime",
    means: "The command is not on the PATH given, or not at the path given.",
    action: "Check its name, or give a full path.",
  },
  QUIRE_ERR_SPAWN: {
    layer: "runtime",
    means: "The OS would not start the command (not executable, out of processes, ...).",
    action: "Read the cause in the message: check the file's permissions and the system's limits.",
  },
  QUIRE_ERR_EXPECT_TIMEOUT: {
    layer: "runtime",
    means: "No output matched `expect()`'s pattern in time; the message shows the last output.",
    action: "Check the pattern against that output, or wait longer.",
  },
  QUIRE_ERR_EXPECT_ENDED: {
    layer: "runtime",
    means: "The process ended before its output matched `expect()`'s pattern.",
    action: "Check the pattern against the last output in the message.",
  },
  QUIRE_ERR_PROCESS_ENDED: {
    layer: "runtime",
    means: "Input or a resize was sent to a process that has ended.",
    action: "Check `wait()` or the exit event before writing.",
  },

  // The client: reaching the daemon and a service (src/client).
  QUIRE_ERR_DAEMON_UNREACHABLE: {
    layer: "client",
    means: "No quired could be reached on its socket; `errno` says why when the system gave a reason.",
    action: "Follow the message: start quired (`quirectl daemon start`), or fix the socket's path or permissions.",
  },
  QUIRE_ERR_DAEMON_START: {
    layer: "client",
    means: "quired was started on demand and did not come up.",
    action: "Read quired.log, whose path the message gives.",
  },
  QUIRE_ERR_REFUSED: {
    layer: "client",
    means: "The broker or a backend refused the Hello; `refusedCode` is the wire's Refused code.",
    action: "Follow the reason; with `retry_after_ms`, try again after it.",
  },
  QUIRE_ERR_CONNECTION_CLOSED: {
    layer: "client",
    means: "The connection closed; requests in flight on it may or may not have run.",
    action: "Connect again, and check what ran before repeating a request that is not safe to repeat.",
  },
  QUIRE_ERR_TIMEOUT: {
    layer: "client",
    means: "Connecting, a handshake or a request took longer than its timeout.",
    action: "Check that quired is running and not overloaded (`quirectl status`), or give more time.",
  },
  QUIRE_ERR_HANDSHAKE: {
    layer: "client",
    means: "The peer's answer to the Hello, or its ready event after a handoff, is not what the protocol says.",
    action: "Check that the socket belongs to a quired of a matching version.",
  },
  QUIRE_ERR_ABORTED: {
    layer: "client",
    means: "A request's AbortSignal fired without a reason of its own.",
    action: "Nothing: the caller aborted it (a signal with a reason rejects with that reason).",
  },
  QUIRE_ERR_CI_SUBMIT_UNCONFIRMED: {
    layer: "client",
    means:
      "A submit went out, its answer was lost, and the ci service could not be asked again in time: the run may or may not have been recorded.",
    action:
      "`quirectl runs` shows it if it was; submitting again with the error's `idempotencyKey` is answered with that run rather than a second one.",
  },

  // The broker: quired itself (src/broker).
  QUIRE_ERR_DAEMON_RUNNING: {
    layer: "broker",
    means: "A quired already answers on the socket.",
    action: "Stop it first (`quirectl daemon stop`), or use another QUIRE_HOME.",
  },
  QUIRE_ERR_SOCKET_DIR_INSECURE: {
    layer: "broker",
    means: "The socket's directory is a link, not a directory, not the user's, or open to other users.",
    action: "Do what the message says (for a mode: `chmod 700 DIR`), or choose another QUIRE_HOME.",
  },
  QUIRE_ERR_RUNNING_AS_ROOT: {
    layer: "broker",
    means: "quired was started as root without being told to run as root.",
    action: "Run it as your own user, or pass `--allow-root` (or set QUIRE_ALLOW_ROOT=1).",
  },
  QUIRE_ERR_SOCKET_PATH_TOO_LONG: {
    layer: "broker",
    means: "The socket's path is longer than the system allows a Unix socket's path to be.",
    action: "Choose a shorter QUIRE_HOME.",
  },
  QUIRE_ERR_SOCKET_PATH_OCCUPIED: {
    layer: "broker",
    means: "Something that is not a socket is at the socket's path; quired does not replace it.",
    action: "Move it away, or choose another QUIRE_HOME.",
  },
  QUIRE_ERR_SOCKET_ACTIVATION: {
    layer: "broker",
    means: "The socket systemd handed to quired (LISTEN_FDS) cannot be used.",
    action: "Fix quired.socket as the message says (`quirectl daemon install` writes a good one).",
  },
  QUIRE_ERR_BACKEND_UNAVAILABLE: {
    layer: "broker",
    means: "A service's backend cannot be launched now: crashing, respawning, out of its crash budget, or draining.",
    action: "Clients are refused with BACKEND_SPAWN_FAILED and a retry time: wait that long; quired.log says why it crashed.",
  },
  QUIRE_ERR_BACKEND_NOT_RUNNING: {
    layer: "broker",
    means: "The backend exited, or its control channel closed, before it answered the broker (a handoff ACK, metrics, an idle question).",
    action:
      "Nothing to do for a handoff: the client reconnects; quired.log says why the backend ended, and it is respawned within its budget.",
  },
  QUIRE_ERR_BACKEND_TIMEOUT: {
    layer: "broker",
    means: "The backend did not answer the broker in time (a handoff ACK, metrics, an idle question).",
    action: "Nothing to do for a handoff: the client reconnects; a backend that stops answering pings is killed and respawned.",
  },
  QUIRE_ERR_HANDOFF_SOCKET_CLOSED: {
    layer: "broker",
    means: "A client's socket closed before the broker could hand it to a backend.",
    action: "Nothing: the client went away.",
  },

  // A backend (src/backend).
  QUIRE_ERR_SERVICE_UNKNOWN: {
    layer: "backend",
    means: "A backend was started for a service it does not have.",
    action: "Use a service of `src/core/services.ts`.",
  },

  // The pty service's answers: PtyErrorCode (src/wire/error-codes.ts), raised in the client as PtyRequestError.
  QUIRE_ERR_PTY: {
    layer: "pty service",
    means: "A pty request failed in a way without a code of its own.",
    action: "Read the message; quired.log may say more.",
  },
  QUIRE_ERR_PTY_NO_SESSION: {
    layer: "pty service",
    means: "No session has that name.",
    action: "`quirectl ps` lists the sessions.",
  },
  QUIRE_ERR_PTY_INVALID_NAME: {
    layer: "pty service",
    means: "A session name is not a-z, 0-9, '.', '_' and '-' (starting with a letter or digit, at most 64).",
    action: "Choose a name of that form.",
  },
  QUIRE_ERR_PTY_NAME_TAKEN: {
    layer: "pty service",
    means: "A running session already has that name.",
    action: "Kill it first, or pick another name.",
  },
  QUIRE_ERR_PTY_NO_COMMAND: {
    layer: "pty service",
    means: "A session was started without a command.",
    action: "`quirectl start NAME -- COMMAND [ARGS...]`.",
  },
  QUIRE_ERR_PTY_EXITED: {
    layer: "pty service",
    means: "The session's command has exited, so it takes no input and no attach.",
    action: "`quirectl tail NAME` shows its last output.",
  },
  QUIRE_ERR_PTY_NOT_WRITER: {
    layer: "pty service",
    means: "Another client is the session's writer.",
    action: "Attach with `--takeover` to become it.",
  },
  QUIRE_ERR_PTY_UNKNOWN_OP: {
    layer: "pty service",
    means: "A pty request names no operation this service knows.",
    action: "Use a quirectl and a quired of the same version.",
  },

  // The web service's answers: WebErrorCode (src/wire/error-codes.ts), raised in the client as WebRequestError.
  QUIRE_ERR_WEB: {
    layer: "web service",
    means: "A request to the web service (the runs page) failed in a way without a code of its own.",
    action: "Read the message; quired.log may say more.",
  },
  QUIRE_ERR_WEB_PORT_UNAVAILABLE: {
    layer: "web service",
    means:
      "The runs page cannot listen on the port asked for (`quirectl ui --port`, or the `ui.port` setting): it is in use, or not one this user may open.",
    action: "Pick another port, or leave both out: the page then takes a free one.",
  },
  QUIRE_ERR_WEB_PORT_MISMATCH: {
    layer: "web service",
    means: "The runs page is served already, on another port than the one asked for; it is served on one port at a time.",
    action: "Run `quirectl ui` without --port to open it where it is, or `quirectl daemon restart` to serve it on the new one.",
  },
  QUIRE_ERR_WEB_BAD_REQUEST: {
    layer: "web service",
    means: "A web request could not be decoded or names no operation.",
    action: "Use a quirectl and a quired of the same version.",
  },

  // The ci service's answers: CiErrorCode (src/wire/error-codes.ts), raised in the client as CiRequestError.
  QUIRE_ERR_CI: {
    layer: "ci service",
    means: "A ci answer said it failed and gave no code.",
    action: "Read the message; quired.log may say more.",
  },
  QUIRE_ERR_CI_BAD_REQUEST: {
    layer: "ci service",
    means: "A ci request is not a valid CiRequest, or names no operation.",
    action: "Use a quirectl and a quired of the same version.",
  },
  QUIRE_ERR_CI_INTERNAL: {
    layer: "ci service",
    means: "A fault in the ci backend itself.",
    action: "quired.log has the details; report it.",
  },

  // The CI layer (src/ci): pipelines, runs, secrets, workspaces, logs, the store.
  QUIRE_ERR_PIPELINE_INVALID: {
    layer: "ci",
    means:
      "A pipeline file cannot be used: unreadable, not YAML, or not a valid pipeline; the message names file:line:column and the field.",
    action: "Fix the file where the message points, as it says what is allowed.",
  },
  QUIRE_ERR_CONFIG_INVALID: {
    layer: "ci",
    means:
      "quire's configuration file (config.yml) cannot be used: unreadable, not YAML, an unknown setting or a bad value; the message names file:line:column and the setting.",
    action: "Fix the file where the message points, or set the value with `quirectl config set NAME VALUE`.",
  },
  QUIRE_ERR_RUN_NOT_FOUND: {
    layer: "ci",
    means: "No run has that id.",
    action: "`quirectl runs` lists the runs.",
  },
  QUIRE_ERR_RUN_TOKEN: {
    layer: "ci",
    means: "A run token names no running step: forged, of another daemon, or of a step that has ended (each step has its own).",
    action: "Annotate only from inside a step while it runs, with its own QUIRE_RUN_TOKEN.",
  },
  QUIRE_ERR_CI_SHUTTING_DOWN: {
    layer: "ci",
    means: "The ci backend is draining and takes no new runs.",
    action: "Run it again in a moment.",
  },
  QUIRE_ERR_CI_NOT_RECORDED: {
    layer: "ci",
    means: "A submit's deadline passed before its run was recorded: it was not, and never will be.",
    action: "Submit it again, with more time if the machine is busy (`timeoutMs`).",
  },
  QUIRE_ERR_CI_IDEMPOTENCY_KEY: {
    layer: "ci",
    means: "A submit's idempotency key is empty or longer than 128 characters.",
    action: "Send a key of 1 to 128 characters, or none (the client makes one).",
  },
  QUIRE_ERR_RERUN_LIVE: {
    layer: "ci",
    means: "`quirectl rerun` of a run that is still pending or active.",
    action: "Wait for it to end (`quirectl watch ID`) or cancel it, then run it again.",
  },
  QUIRE_ERR_RERUN_NOTHING_FAILED: {
    layer: "ci",
    means: "`quirectl rerun --failed` of a run none of whose jobs failed or was cancelled.",
    action: "`quirectl rerun ID` runs every job again.",
  },
  QUIRE_ERR_RERUN_NO_TREE: {
    layer: "ci",
    means: "A run cannot be run again: it ran a copy of a directory outside git, or was recorded before quire kept runs' trees.",
    action: "Run the pipeline anew with `quirectl run`.",
  },
  QUIRE_ERR_RERUN_TREE_GONE: {
    layer: "ci",
    means: "A run's tree or base commit is no longer there: its repository was removed, or its history rewritten and pruned.",
    action: "Run the pipeline anew with `quirectl run`.",
  },
  QUIRE_ERR_SECRET_MISSING: {
    layer: "ci",
    means: "A pipeline names a secret that is not set, or a secret to remove is not there.",
    action: "`quirectl secret set NAME < file-holding-the-value`.",
  },
  QUIRE_ERR_SECRET_NAME: {
    layer: "ci",
    means: "A secret's name is not capitals, digits and _, starting with a capital or _.",
    action: "Choose a name of that form (e.g. NPM_TOKEN).",
  },
  QUIRE_ERR_SECRET_VALUE: {
    layer: "ci",
    means: "A secret's value is under 3 bytes (it could not be redacted) or over 64 KiB (it would not fit a step's environment).",
    action: "Keep a large secret in a file and store its path or a key to it.",
  },
  QUIRE_ERR_WORKING_DIRECTORY: {
    layer: "ci",
    means: "A workflow step's working-directory, once its expressions are evaluated, leaves the run's workspace.",
    action: "Give a directory inside the repository; the step fails with this reason in its log.",
  },
  QUIRE_ERR_CONCURRENCY_GROUP: {
    layer: "ci",
    means:
      "A workflow's `concurrency` group or `cancel-in-progress` could not be evaluated when its run was to be recorded (fromJSON of text that is not JSON, say); nothing was recorded.",
    action: "Fix the expression in the workflow's `concurrency:`, then run it again.",
  },
  QUIRE_ERR_CACHE_PATH: {
    layer: "ci",
    means:
      "A dependency cache's path, once its step's expressions are evaluated, is outside the run's workspace, the whole workspace, starts with `~` or holds a wildcard.",
    action: "Cache files and directories inside the repository; the step fails with this reason in its log.",
  },
  QUIRE_ERR_CACHE_KEY: {
    layer: "ci",
    means: "A dependency cache's key, once evaluated, is empty, over 512 characters or holds a comma.",
    action: "Make the key 1 to 512 characters without a comma; the step fails with this reason in its log.",
  },
  QUIRE_ERR_CACHE_ENTRY: {
    layer: "ci",
    means: "A cache entry (a dependency cache, or a job's kept result) could not be read, saved or put back; the job went on without it.",
    action: "The job's annotation says why; check the disk under QUIRE_HOME/cache.",
  },
  QUIRE_ERR_REMOTE_CACHE_UNREACHABLE: {
    layer: "ci",
    means:
      "The remote job-result cache (cache.remote) could not be reached, or did not answer within its time bound; the run went on with the local cache.",
    action: "Check the server at cache.remote.url (is it running, is the address right); the job's annotation and quired.log name it.",
  },
  QUIRE_ERR_REMOTE_CACHE_DENIED: {
    layer: "ci",
    means: "The remote job-result cache answered 401 or 403: the token was refused; the run went on with the local cache.",
    action: "Set the secret cache.remote.token names again (quirectl secret set NAME) with a token the server takes, and check the team.",
  },
  QUIRE_ERR_REMOTE_CACHE_STATUS: {
    layer: "ci",
    means: "The remote job-result cache answered with a status quire did not expect (a 5xx, say); the run went on with the local cache.",
    action: "Look at the server's log; the job's annotation names the status.",
  },
  QUIRE_ERR_REMOTE_ARTIFACT_CORRUPT: {
    layer: "ci",
    means:
      "An artifact the remote cache gave back is not whole (truncated, altered, not of the hash asked for); nothing of it was restored and the job ran.",
    action: "Nothing to do for the run; if it repeats, remove the artifact from the server's storage.",
  },
  QUIRE_ERR_REMOTE_ARTIFACT_SIGNATURE: {
    layer: "ci",
    means:
      "An artifact the remote cache gave back has no signature, or not the one the configured key (cache.remote.signature-key) gives it; it was not restored and the job ran.",
    action: "Give every machine the same signature key; an artifact uploaded without it stays unused.",
  },
  QUIRE_ERR_SECRET_KEY: {
    layer: "ci",
    means: "The secret key file (QUIRE_HOME/secret.key) is unsafe or damaged.",
    action: "Do what the message says (e.g. `chmod 600` it, or remove it and set the secrets again).",
  },
  QUIRE_ERR_SECRET_DECRYPT: {
    layer: "ci",
    means: "A stored secret does not open with the key: it was sealed with another key, or is damaged.",
    action: "Set the secret again.",
  },
  QUIRE_ERR_WORKSPACE: {
    layer: "ci",
    means:
      "A run's tree could not be snapshotted or checked out, or a workspace could not be made or removed; git's own words are in the message.",
    action: "Follow git's message; check the disk and that git is on quired's PATH.",
  },
  QUIRE_ERR_LOG_FILE: {
    layer: "ci",
    means: "A step's log file could not be opened, written or read.",
    action: "Check that the disk is not full and QUIRE_HOME is writable.",
  },
  QUIRE_ERR_LOG_CLOSED: {
    layer: "ci",
    means: "A step log was written after it was closed: a bug in quire.",
    action: "Report it.",
  },
  QUIRE_ERR_RETENTION_SETTING: {
    layer: "ci",
    means: "A retention bound (a `quired --keep-...` flag or its `QUIRE_KEEP_...` variable) is not a count, an age or a size.",
    action: "Write it as the message says (`500`, `30d`, `2GiB`) or `unlimited`; `quired --help` lists the bounds.",
  },
  QUIRE_ERR_STORE_OPEN: {
    layer: "ci",
    means: "The run store (quire.db) cannot be opened or cannot use WAL.",
    action: "Put QUIRE_HOME on a local filesystem; if the file is damaged, move it aside and restart quired.",
  },
  QUIRE_ERR_STORE_TOO_NEW: {
    layer: "ci",
    means: "quire.db has a schema version newer than this quire knows.",
    action: "Run a newer quire, or point QUIRE_HOME elsewhere.",
  },
  QUIRE_ERR_STORE_MIGRATION: {
    layer: "ci",
    means: "Migrating quire.db to this version's schema failed and was rolled back.",
    action: "Check that the file is a quire database; the message has SQLite's words.",
  },
  QUIRE_ERR_STORE_ANNOTATION_INVALID: {
    layer: "ci",
    means: "An annotation is empty or over 4096 characters.",
    action: "Annotate with 1 to 4096 characters.",
  },
  QUIRE_ERR_STORE_SECRET_INVALID: {
    layer: "ci",
    means: "A secret handed to the store has a bad name or is not a sealed box: a bug in quire.",
    action: "Report it.",
  },
  QUIRE_ERR_STORE_FULL: {
    layer: "ci",
    means:
      "The disk holding quire.db is full, even after the store gave back the room it keeps to record how runs end; the message names the file system and what is free.",
    action: "Free space there (`quirectl doctor` shows how much is free), then try again.",
  },

  // quirectl (src/cli).
  QUIRE_ERR_USAGE: {
    layer: "cli",
    means: "A command line quirectl cannot use: an unknown command or option, or a bad value; quirectl exits 2.",
    action: "`quirectl --help` shows the usage.",
  },
  QUIRE_ERR_NOT_IN_STEP: {
    layer: "cli",
    means: "`quirectl annotate` ran outside a pipeline step (QUIRE_RUN_TOKEN is not set); quirectl exits 2.",
    action: "Call it from a step's command.",
  },
  QUIRE_ERR_PROMPT_CANCELLED: {
    layer: "cli",
    means: "Ctrl-C at the prompt for a secret's value; quirectl exits 2.",
    action: "Nothing: nothing was set.",
  },
  QUIRE_ERR_SECRET_ON_COMMAND_LINE: {
    layer: "cli",
    means:
      "`quirectl secret set NAME VALUE`: a secret's value was given on the command line, where `ps` and the shell's history show it; quirectl exits 2 without using it.",
    action: "Give the value on stdin, from a file (`quirectl secret set NAME < FILE`) or a pipe, or type it when a terminal asks for it.",
  },
  QUIRE_ERR_JOB_NOT_FOUND: {
    layer: "cli",
    means: "`quirectl logs --job J`: the run has no job J (the message lists its jobs); quirectl exits 1.",
    action: "Name one of the jobs the message lists.",
  },
  QUIRE_ERR_STEP_NOT_FOUND: {
    layer: "cli",
    means: "`quirectl logs --step S`: the run (or the job named with it) has no step S (the message lists its steps); quirectl exits 1.",
    action: "Name one of the steps the message lists.",
  },
  QUIRE_ERR_STEP_AMBIGUOUS: {
    layer: "cli",
    means: "`quirectl logs --step S` without `--job`, and several jobs of the run have a step S; quirectl exits 2.",
    action: "Add `--job J`, one of the jobs the message names.",
  },
  QUIRE_ERR_HOOK_TRACKED: {
    layer: "cli",
    means:
      "`quirectl hook install` would replace a hook file that git tracks (a core.hooksPath directory in the repository); quire never changes a tracked file.",
    action: "Add the line the message gives to that hook file, and commit it.",
  },
  QUIRE_ERR_HOOK_SETUP: {
    layer: "cli",
    means: "A git hook could not be installed or removed: not inside a git work tree, or a file in the way.",
    action: "Follow the message: run it inside the repository, or move the file it names.",
  },
  QUIRE_ERR_LOGIN_UNSUPPORTED: {
    layer: "cli",
    means: "Starting quired at login is not supported on this platform.",
    action: "Start quired otherwise (your own service manager, or autostart).",
  },
  QUIRE_ERR_LOGIN_VALUE: {
    layer: "cli",
    means: "A value for a login unit (the home, the PATH) holds a character the unit file cannot carry.",
    action: "Choose a home or PATH without it.",
  },
  QUIRE_ERR_LOGIN_COMMAND: {
    layer: "cli",
    means: "A command of `daemon install` or `daemon uninstall` (systemctl, launchctl, schtasks) failed.",
    action: "Follow the message: it names the commands still to run, or `--no-activate` to only write the files.",
  },
} as const satisfies Record<`QUIRE_ERR_${string}`, ErrorCodeEntry>;

/** Every code a QuireError may carry. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Codes once published and no longer raised, with why: kept so that none is ever given another meaning. */
export const RETIRED_CODES = {
  QUIRE_ERR_PIPELINE_CYCLE:
    "A `needs` cycle. Its one user was dead code; the parser reports a cycle as QUIRE_ERR_PIPELINE_INVALID, naming the cycle.",
  QUIRE_ERR_STORE_UNKNOWN_RUN: "No run with that id, from the store. It is QUIRE_ERR_RUN_NOT_FOUND now, the code that crosses the wire.",
} as const;

export abstract class QuireError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
