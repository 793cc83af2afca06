// The actions a workflow step may `uses:` here. Each is a small adapter doing on the host what the
// action does on GitHub's runners; anything else is refused before the run starts, saying why.

/** What quire does for a well-known action; the runner turns it into a command at the step's start. */
export type ActionAdapter =
  | "checkout"
  | "setup-node"
  | "setup-python"
  | "setup-go"
  | "setup-java"
  | "cache"
  | "cache-restore"
  | "cache-save";

/** The adapters of actions/cache: quire's dependency caches (src/ci/cache), restored and saved by the runner itself. */
export const CACHE_ADAPTERS: ReadonlySet<string> = new Set<ActionAdapter>(["cache", "cache-restore", "cache-save"]);

/** How a step's `uses` is run: a well-known action's adapter, or a local action read once the run's tree is there. */
export type ResolvedAction = { adapter: ActionAdapter; name: string } | { adapter: "local" | "kept"; name: string } | { refused: string };

const ADAPTERS: Record<string, ActionAdapter> = {
  "actions/checkout": "checkout",
  "actions/setup-node": "setup-node",
  "actions/setup-python": "setup-python",
  "actions/setup-go": "setup-go",
  "actions/setup-java": "setup-java",
  "actions/cache": "cache",
  "actions/cache/restore": "cache-restore",
  "actions/cache/save": "cache-save",
};

/** Inputs each adapter honours; any other input of that action is refused by name. */
export const ADAPTER_INPUTS: Record<ActionAdapter, readonly string[]> = {
  // The workspace already is the checkout of the exact tree; these only say how GitHub would fetch it.
  checkout: [
    "fetch-depth",
    "submodules",
    "persist-credentials",
    "clean",
    "fetch-tags",
    "show-progress",
    "lfs",
    "ref",
    "token",
    "filter",
    "sparse-checkout",
    "sparse-checkout-cone-mode",
    "set-safe-directory",
    "github-server-url",
    "repository",
  ],
  "setup-node": [
    "node-version",
    "node-version-file",
    "cache",
    "cache-dependency-path",
    "registry-url",
    "scope",
    "always-auth",
    "check-latest",
    "token",
    "architecture",
    "package-manager-cache",
  ],
  "setup-python": [
    "python-version",
    "python-version-file",
    "cache",
    "cache-dependency-path",
    "architecture",
    "check-latest",
    "token",
    "update-environment",
    "allow-prereleases",
  ],
  "setup-go": ["go-version", "go-version-file", "cache", "cache-dependency-path", "check-latest", "token", "architecture"],
  // Entries live on this machine: how they would be uploaded, or shared across operating systems, means nothing here.
  cache: ["path", "key", "restore-keys", "fail-on-cache-miss", "lookup-only", "enableCrossOsArchive", "upload-chunk-size"],
  "cache-restore": ["path", "key", "restore-keys", "fail-on-cache-miss", "lookup-only", "enableCrossOsArchive"],
  "cache-save": ["path", "key", "enableCrossOsArchive", "upload-chunk-size"],
  "setup-java": [
    "java-version",
    "java-version-file",
    "distribution",
    "java-package",
    "architecture",
    "cache",
    "cache-dependency-path",
    "check-latest",
    "server-id",
    "server-username",
    "server-password",
    "settings-path",
    "overwrite-settings",
    "gpg-private-key",
    "gpg-passphrase",
    "token",
  ],
};

/** Why an action is not run here, or its adapter. `uses` is the step's value (`owner/repo@ref`, `./dir`, `docker://...`). */
export function resolveAction(uses: string): ResolvedAction {
  if (uses.startsWith("docker://")) return { refused: "a container action needs a container engine, and quire runs steps on the host" };
  if (uses.startsWith("../")) return { refused: "a local action lives in the repository: `./path/to/action`" };
  if (uses.startsWith("./")) return { adapter: "local", name: uses };
  const at = uses.indexOf("@");
  if (at < 0) return { refused: "an action is named `owner/repo@ref`" };
  const name = uses.slice(0, at).toLowerCase();
  const adapter = ADAPTERS[name];
  if (adapter) return { adapter, name };
  if (name.startsWith("actions/cache/"))
    return { refused: "actions/cache has `actions/cache`, `actions/cache/restore` and `actions/cache/save`" };
  if (name === "actions/upload-artifact" || name === "actions/download-artifact")
    return { refused: "artifacts are not in quire yet: the run's workspace and logs are kept instead" };
  // Any other action runs from quire's action cache (`quirectl action add`), checked when the run is submitted.
  return { adapter: "kept", name: uses };
}
