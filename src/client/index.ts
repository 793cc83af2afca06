// quire/client: reach a service through the daemon, and administer the daemon.
export { connect, handshakeChannel, type ConnectOptions } from "./connect.js";
export { Connection, type RequestOptions } from "./connection.js";
export { adminCall, AdminOp, type AdminOptions } from "./admin.js";
export { startDaemon, type StartOptions } from "./autostart.js";
export { resolvePlaces, type Places } from "../broker/paths.js";
export * from "./errors.js";
export { PtyClient, Attachment, PtyRequestError, type PtySession } from "./pty.js";
export { Lane } from "../wire/lanes.js";
