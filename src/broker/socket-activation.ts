// systemd socket activation (native-notes/autostart.md): quired.socket owns quired.sock from login and
// passes the listening socket to quired as fd 3, saying so with LISTEN_FDS and LISTEN_PID.
import { SocketActivationError } from "./errors.js";

/** sd_listen_fds(3): the first passed socket is fd 3. */
export const LISTEN_FDS_START = 3;

export interface Activation {
  /** The listening socket to serve, when systemd passed one to this process. */
  fd?: number;
  /** Why LISTEN_FDS was ignored, for quired to print. */
  warning?: string;
}

/**
 * Reads and removes LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES from `env`, so backends (and what they run)
 * never inherit them. Like sd_listen_fds(), variables meant for another process (LISTEN_PID is not
 * `pid`: a wrapper that did not exec) are ignored. More than one socket is refused: quired serves one.
 */
export function takeActivation(env: NodeJS.ProcessEnv = process.env, pid = process.pid): Activation {
  const { LISTEN_FDS: fds, LISTEN_PID: listenPid } = env;
  delete env.LISTEN_FDS;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDNAMES;
  if (fds === undefined || fds === "" || fds === "0") return {};
  if (listenPid !== String(pid)) {
    return {
      warning: `ignoring LISTEN_FDS=${fds}: LISTEN_PID=${listenPid ?? "(unset)"} is not this process (pid ${pid}); whatever starts quired must exec it directly`,
    };
  }
  if (fds !== "1")
    throw new SocketActivationError(
      `LISTEN_FDS=${fds}, but quired serves exactly one socket: give quired.socket a single ListenStream= (quirectl daemon install writes it)`,
    );
  return { fd: LISTEN_FDS_START };
}
