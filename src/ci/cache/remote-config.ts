// Where the job cache is shared: quire.yml's `cache.remote`, else quire's configuration (`cache.remote-*`,
// which is also what a workflow file gets, a workflow having no such key). Both name the token and the
// signature key by their quire secrets: a value is never written in a file.
import type { RemoteCache } from "../pipeline/model.js";

/** What the configuration file says of the remote cache (the `cache.remote-*` settings). */
export interface RemoteCacheSettings {
  "cache.remote-url": string | null;
  "cache.remote-team": string | null;
  "cache.remote-token": string | null;
  "cache.remote-signature-key": string | null;
  "cache.remote-timeout": number;
}

/**
 * `text` as a server's base URL (no trailing `/`), or undefined when it is not an http(s) URL without
 * credentials, query or fragment (the token is the credential, and a URL is shown in messages and logs).
 */
export function remoteUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search !== "" || url.hash !== "") return undefined;
    if (url.username !== "" || url.password !== "") return undefined;
  } catch {
    return undefined;
  }
  return text.replace(/\/+$/, "");
}

/** A team as the server takes it in `?teamId=`: one word. */
export function isTeamName(text: string): boolean {
  return text !== "" && !/[\s/?#&]/.test(text);
}

/** The remote cache a run of `pipeline` uses: its own `cache.remote`, else the configuration's when it names url, team and token. */
export function remoteCacheOf(
  pipeline: { remoteCache?: RemoteCache | null },
  settings: RemoteCacheSettings | undefined,
): RemoteCache | null {
  if (pipeline.remoteCache) return pipeline.remoteCache;
  const url = settings?.["cache.remote-url"];
  const team = settings?.["cache.remote-team"];
  const token = settings?.["cache.remote-token"];
  if (!settings || !url || !team || !token) return null;
  return {
    url,
    team,
    tokenSecret: token,
    signatureKeySecret: settings["cache.remote-signature-key"],
    timeoutMs: settings["cache.remote-timeout"],
  };
}
