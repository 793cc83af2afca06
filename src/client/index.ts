// quire/client: reach a service through the daemon, and administer the daemon.
export { QuireError } from "../errors.js";
export { connect, handshakeChannel, type ConnectOptions } from "./connect.js";
export { Connection, type ConnectionPath, type RequestOptions } from "./connection.js";
export { adminCall, AdminOp, type AdminOptions } from "./admin-calls.js";
export { startDaemon, type StartOptions } from "./autostart.js";
export { resolvePlaces, type Places } from "../core/places.js";
export {
  ClientError,
  DaemonUnreachableError,
  DaemonStartError,
  RefusedError,
  ConnectionClosedError,
  TimeoutError,
  HandshakeError,
  SubmitUnconfirmedError,
} from "./errors.js";
export { PtyClient, Attachment, PtyRequestError, type PtySession } from "./pty.js";
export { Lane, type LaneId } from "../wire/lanes.js";
export { CiClient, CiRequestError, TERMINAL_RUN_STATES, type CiRun, type CiLogChunk, type CiPosition, type SubmitOptions } from "./ci.js";
export { CiErrorCode, PtyErrorCode, WebErrorCode } from "../wire/error-codes.js";
export { WebClient, WebRequestError, type RunsPageAddress } from "./web.js";
