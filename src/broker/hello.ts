// Checking a client's Hello before anything is launched for it.
import { refused } from "../backend/replies.js";
import { Refused_Code, type Hello, type Refused } from "../gen/quire/v1/hello.js";
import { PROTOCOL_MAX, PROTOCOL_MIN } from "../wire/protocol.js";
import { compareVersions, parseVersion } from "./semver.js";

const SERVICE_NAME = /^[a-z0-9-]{1,64}$/;

/** A Refused for a Hello the broker will not serve, or undefined when it is acceptable. */
export function checkHello(hello: Hello, services: readonly string[], daemonVersion: string): Refused | undefined {
  if (hello.clientMaxProtocol < PROTOCOL_MIN || hello.clientMinProtocol > PROTOCOL_MAX || hello.clientMinProtocol > hello.clientMaxProtocol) {
    return refused(
      Refused_Code.VERSION_UNSUPPORTED,
      `client speaks protocol ${hello.clientMinProtocol}..${hello.clientMaxProtocol}, quired ${daemonVersion} speaks ${PROTOCOL_MIN}..${PROTOCOL_MAX}; upgrade whichever is older`,
    );
  }
  if (!SERVICE_NAME.test(hello.serviceName)) {
    return refused(Refused_Code.SERVICE_UNKNOWN, `service name ${JSON.stringify(hello.serviceName)} is not valid: use 1-64 of a-z, 0-9 and -`);
  }
  if (hello.wantedVersion !== "") {
    const wanted = parseVersion(hello.wantedVersion);
    if (!wanted) {
      return refused(Refused_Code.VERSION_UNSUPPORTED, `wanted_version ${JSON.stringify(hello.wantedVersion)} is not a semantic version (like 1.2.3)`);
    }
    if (compareVersions(parseVersion(daemonVersion)!, wanted) < 0) {
      return refused(
        Refused_Code.VERSION_UNSUPPORTED,
        `client wants quired ${hello.wantedVersion} or later; this is ${daemonVersion}: upgrade quire and restart the daemon (quirectl daemon restart)`,
        { wanted: hello.wantedVersion, daemon: daemonVersion },
      );
    }
  }
  if (!services.includes(hello.serviceName)) {
    return refused(Refused_Code.SERVICE_UNKNOWN, `no service named "${hello.serviceName}"; this daemon serves: ${services.join(", ")}`);
  }
  return undefined;
}
